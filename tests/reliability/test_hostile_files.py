"""Hostile files given to gildash: recordings and configs that are huge, nested without end, wrongly typed,
non-finite, cut mid-line, FIFOs or devices, or written on a full disk. Every reader is total: a one-line
error or the valid part read and the rest counted; memory stays bounded; nothing blocks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_support import REPO, cli_env, gildash, hostile_spec, one_error_line

from gildash.engine.config import ConfigError, load_config
from gildash.engine.recording import (
    Recorder,
    RecordingError,
    ReplayRun,
    open_recording,
    read_recording,
)
from gildash.engine.runner import execute
from gildash.engine.safejson import finite_floats_only

GUARD_S = 20.0


async def _record(path: Path, *names: str) -> None:
    with Recorder(path) as rec:
        for name in names:
            await execute(hostile_spec(name), recorder=rec, noise_check=False, core_sample_interval=None)


@pytest.fixture
async def one_run(tmp_path: Path) -> Path:
    path = tmp_path / "one.jsonl"
    await _record(path, "non_json")
    return path


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rewrite(path: Path, records: list[dict[str, object]], extra: list[str] | None = None) -> Path:
    out = path.with_name("edited.jsonl")
    lines = [json.dumps(r) for r in records] + (extra or [])
    out.write_text("\n".join(lines) + "\n")
    return out


# --- recursion-proof --------------------------------------------------------------------------------------


def test_a_100k_deep_header_is_not_a_recording_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(RecordingError, match="not a gildash recording"):
        read_recording(path)
    for command in ("export", "replay"):
        line = one_error_line(gildash(command, str(path), env=cli_env(tmp_path), timeout=GUARD_S))
        assert str(path) in line


def test_a_100k_deep_record_is_skipped_and_counted(one_run: Path) -> None:
    lines = one_run.read_text().splitlines()
    deep = '{"kind":"line","run_id":"x","raw":' + "[" * 100_000 + "]" * 100_000 + "}"
    path = one_run.with_name("deep-record.jsonl")
    path.write_text("\n".join([lines[0], deep, *lines[1:]]) + "\n")
    for reader in (read_recording, open_recording):
        rec = reader(path)
        assert [r.complete for r in rec.runs] == [True]
        list(rec.runs[0].items)
        assert rec.skipped == 1, reader


def test_a_5000_deep_toml_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    line = one_error_line(gildash("--config", str(path), "targets", env=cli_env(tmp_path)))
    assert str(path) in line


# --- FIFOs and devices -----------------------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_fifo_and_devices_are_refused_by_every_engine_reader_and_writer(fifo: Path) -> None:
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(ConfigError, match="not a regular file"):
            load_config(path)
        with pytest.raises(RecordingError, match="not a regular file"):
            read_recording(path)
        with pytest.raises(RecordingError, match="not a regular file"):
            Recorder(path)


@pytest.mark.parametrize(
    "args",
    [
        ("--config", "{fifo}", "targets"),
        ("export", "{fifo}"),
        ("replay", "{fifo}"),
        ("run", "--cmd", "true", "--record", "{fifo}"),
    ],
    ids=["config", "export", "replay", "record"],
)
def test_fifo_through_the_cli_is_one_line_and_never_blocks(
    fifo: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    argv = [a.replace("{fifo}", str(fifo)) for a in args]
    line = one_error_line(gildash(*argv, env=cli_env(tmp_path), timeout=GUARD_S))
    assert str(fifo) in line
    if args[0] in ("--config", "run"):  # export/replay: the CLI's own is_file() check speaks first
        assert "FIFO" in line


# --- wrongly typed and non-finite records ----------------------------------------------------------------


def test_wrongly_typed_spec_is_skipped_and_counted_and_the_run_kept(one_run: Path) -> None:
    records = _records(one_run)
    start = next(r for r in records if r.get("kind") == "run_start")
    start["spec"]["threads"] = "2"  # type: ignore[index]
    start["spec"]["target"]["env"] = 7  # type: ignore[index]
    for reader in (read_recording, open_recording):
        rec = reader(_rewrite(one_run, records))
        assert rec.skipped == 1
        (run,) = rec.runs
        assert run.complete and isinstance(run.spec.threads, int)


def test_wrongly_typed_result_is_rebuilt_from_its_lines(one_run: Path) -> None:
    records = _records(one_run)
    result = next(r for r in records if r.get("kind") == "result")
    result["result"]["harness_wall_s"] = "fast"  # type: ignore[index]
    rec = read_recording(_rewrite(one_run, records))
    (run,) = rec.runs
    assert not run.complete and "incomplete" in run.result.message
    assert rec.skipped == 1 and any("unreadable result" in e for e in rec.errors)


NON_FINITE = [
    '{"kind":"line","run_id":"RID","t":NaN,"raw":"x"}',
    '{"kind":"line","run_id":"RID","t":1e999,"raw":"x"}',
    '{"kind":"line","run_id":"RID","t":-Infinity,"raw":"x"}',
    '{"kind":"sample","run_id":"RID","t":0.5,"effective_cores":NaN,"thread_util":[],"thread_ids":[],'
    '"rss_bytes":1,"processes":1}',
    '{"kind":"cores","run_id":"RID","t":0.5,"percent":[1e999]}',
    '{"kind":"stderr","run_id":"RID","t":0.5,"line":7}',
]


async def test_non_finite_times_are_rejected_per_record_and_replay_never_freezes(one_run: Path) -> None:
    records = _records(one_run)
    run_id = str(records[1]["run_id"])
    body = [line.replace("RID", run_id) for line in NON_FINITE]
    # Inserted before the result record, inside the run's own records.
    path = _rewrite(one_run, records[:-1], [*body, json.dumps(records[-1])])
    for reader in (read_recording, open_recording):
        rec = reader(path)
        (run,) = rec.runs
        replay = ReplayRun(run, speed=1.0)

        async def drain(replay: ReplayRun = replay) -> int:
            return sum([1 async for _ in replay.updates()])

        assert await asyncio.wait_for(drain(), GUARD_S) > 2
        assert rec.skipped == len(NON_FINITE), reader


def test_export_json_is_strict_even_with_infinity_in_a_result(one_run: Path, tmp_path: Path) -> None:
    records = _records(one_run)
    result = next(r for r in records if r.get("kind") == "result")
    result["result"]["metrics"] = {"rate": 1e999}  # json.dumps writes Infinity
    result["result"]["result_value"] = float("nan")
    path = _rewrite(one_run, records)
    proc = gildash("export", str(path), "--format", "json", env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    finite_floats_only(proc.stdout)


# --- appending after a cut, full disk --------------------------------------------------------------------


async def test_a_recording_cut_mid_line_is_repaired_before_appending(one_run: Path) -> None:
    data = one_run.read_bytes()
    one_run.write_bytes(data[: len(data) - 40])  # the result record cut in half, no newline
    with Recorder(one_run) as rec:
        assert rec.repaired
        await execute(hostile_spec("exit3_after_summary"), recorder=rec, noise_check=False)
    recording = read_recording(one_run)
    assert [r.complete for r in recording.runs] == [False, True]
    assert recording.skipped == 1  # only the cut half


async def test_full_disk_recorder_counts_only_what_reached_the_file(tmp_path: Path) -> None:
    path = tmp_path / "full.jsonl"
    rec = Recorder(path)
    assert rec._fd is not None
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, rec._fd)  # every write now fails with ENOSPC, as on a full disk
    os.close(full)
    result = await execute(hostile_spec("non_json"), recorder=rec, noise_check=False)
    rec.close()
    assert result.status == "ok"
    assert rec.runs_recorded == 0
    assert rec.error is not None and "No space left" in rec.error
    with Recorder(tmp_path / "fine.jsonl") as ok:
        await execute(hostile_spec("non_json"), recorder=ok, noise_check=False)
    assert ok.runs_recorded == 1


# --- bounded memory --------------------------------------------------------------------------------------


MEASURE = """
import sys
from gildash.engine.recording import read_recording, RecordingError
try:
    rec = read_recording(sys.argv[1])
    print(len(rec.runs), rec.skipped)
except RecordingError as exc:
    print("error", exc)
# VmHWM, not ru_maxrss: the latter keeps the peak of the forked copy of the parent (pytest) across exec.
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) // 1024)
"""


@pytest.mark.slow
def test_a_2_gb_sparse_recording_is_read_in_bounded_memory(one_run: Path) -> None:
    path = one_run.with_name("sparse.jsonl")
    header = one_run.read_bytes().splitlines(keepends=True)[0]
    with path.open("wb") as fh:
        fh.write(header)
        fh.truncate(2 << 30)  # 2 GiB of NUL bytes without a newline, taking no disk space
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    summary, peak_mb = proc.stdout.splitlines()
    assert summary == "0 1"  # no runs, the one over-long line skipped
    assert int(peak_mb) < 200, f"peak RSS {peak_mb} MB"


# --- config values the OS cannot carry ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["A=B", "NUL\\u0000KEY", ""])
def test_config_env_key_the_os_cannot_carry_is_one_error_naming_file_and_key(
    tmp_path: Path, key: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[[targets]]\npath = "{sys.executable}"\n\n'
        f'[[targets]]\npath = "{sys.executable}"\nenv = {{ "{key}" = "1" }}\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}:4" in message and "env key" in message and "\n" not in message
    line = one_error_line(gildash("--config", str(path), "targets", env=cli_env(tmp_path)))
    assert f"{path}:4" in line


# --- the lazy index reads what the full pass reads ------------------------------------------------------


async def test_open_recording_replays_exactly_what_read_recording_reads(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    await _record(first, "non_json", "stderr_only")
    await _record(second, "wrong_shape", "raise_midrun")
    a = first.read_text().splitlines()
    b = second.read_text().splitlines()[1:]
    # Two recordings' runs interleaved line by line, garbage between, one record cut at the end.
    mixed = [a[0]]
    for i in range(max(len(a), len(b))):
        mixed += a[1 + i : 2 + i] + b[i : i + 1]
        if i % 97 == 5:
            mixed.append('{"kind":"line","run_id":7}' if i % 2 else "\x00garbage")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(mixed) + "\n" + mixed[-1][:20])
    full, lazy = read_recording(path), open_recording(path)
    assert [r.run_id for r in lazy.runs] == [r.run_id for r in full.runs] and len(full.runs) == 4
    for x, y in zip(full.runs, lazy.runs, strict=True):
        assert list(x.items) == list(y.items)
        assert x.result == y.result and x.spec == y.spec and x.complete == y.complete
    assert lazy.skipped == full.skipped > 0


def test_a_recordings_folder_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("not a folder")
    with pytest.raises(RecordingError, match="a file is in the way"):
        Recorder(blocker / "run.jsonl")
    with pytest.raises(RecordingError, match="part of its path is a file"):
        Recorder(blocker / "deeper" / "run.jsonl")
    assert blocker.read_text() == "not a folder"
