"""Hostile workloads through `gildash run --cmd ... --json`: one JSON object naming the failure, a clean
exit code, a recording, and no process left behind (also when gildash itself is stopped with Ctrl-C)."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    STOP_BUDGET_S,
    cli_env,
    describe,
    gildash,
    hostile_path,
    kill_leftovers,
    reported_pids,
    survivors,
)

from gildash.engine.recording import read_recording

REQUIRED_KEYS = {
    "status", "message", "exit_code", "signal", "malformed_lines", "truncated_lines", "ok", "wall_s",
    "effective_cores", "gil_reenabled", "run_id", "recording",
}  # fmt: skip


def cmd_of(name: str, *args: str) -> str:
    return shlex.join(["{python}", str(hostile_path(name)), "--threads", "{threads}", *args])


def run_json(tmp_path: Path, name: str, *extra: str, threads: int = 2) -> tuple[dict[str, Any], int, str]:
    record = tmp_path / f"{name}.jsonl"
    proc = gildash(
        "run", "--cmd", cmd_of(name), "--threads", str(threads), "--json", "--no-noise-check",
        "--record", str(record), *extra,
        env=cli_env(tmp_path),
    )  # fmt: skip
    # The workload's own traceback goes to the JSON's stderr_tail; gildash's stderr never holds one.
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout[:2000]  # exactly one JSON object, whatever the workload printed
    data = json.loads(lines[0])
    assert REQUIRED_KEYS <= set(data), REQUIRED_KEYS - set(data)
    assert data["recording"] == str(record)
    return data, proc.returncode, proc.stderr


def run_pids(record: Path) -> tuple[int, set[int]]:
    """(process group id, pids the fixture reported) from the recording."""
    rec = read_recording(record)
    assert len(rec.runs) == 1
    run = rec.runs[0]
    reported: set[int] = set()
    for _t, update in run.items:
        raw = getattr(update, "raw", None)
        if isinstance(raw, str):
            reported |= reported_pids(raw)
    return run.started.pid, reported


def assert_nothing_left(record: Path) -> None:
    pgid, reported = run_pids(record)
    assert pgid > 0
    left = survivors(pgid, reported | {pgid})
    kill_leftovers(left)
    assert not left, describe(left)


CASES = [
    # name, extra args, status, words in message, malformed, truncated, exit status of gildash
    ("raise_midrun", (), "crashed", ("exit code 1", "RuntimeError"), 0, 0, 1),
    ("no_summary", (), "failed", ("without a summary",), 0, 0, 1),
    ("exit3_after_summary", (), "crashed", ("exit code 3",), 0, 0, 1),
    ("non_json", (), "ok", (), 5, 0, 0),
    ("bad_utf8", (), "ok", (), 2, 0, 0),
    ("wrong_shape", (), "failed", ("without a summary", "14 unparseable"), 14, 0, 1),
    ("long_line", (), "failed", ("without a summary",), 1, 1, 1),
    ("stderr_only", (), "failed", ("without a summary",), 0, 0, 1),
    ("sleep_forever", ("--timeout", "0.5"), "timeout", ("timed out after 0.5 s",), 0, 0, 1),
    ("close_stdout", ("--timeout", "1"), "timeout", ("timed out",), 0, 0, 1),
]


@pytest.mark.parametrize(
    ("name", "extra", "status", "words", "malformed", "truncated", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_run_json_names_the_failure(
    tmp_path: Path,
    name: str,
    extra: tuple[str, ...],
    status: str,
    words: tuple[str, ...],
    malformed: int,
    truncated: int,
    code: int,
) -> None:
    data, returncode, stderr = run_json(tmp_path, name, *extra)
    assert data["status"] == status, data["message"]
    for word in words:
        assert word in data["message"], data["message"]
    assert data["malformed_lines"] == malformed and data["truncated_lines"] == truncated
    assert data["ok"] is (status == "ok")
    assert returncode == code
    if malformed:
        assert any(f"{malformed} malformed" in b for b in data["badges"]), data["badges"]
    if status == "crashed" and "exit code" in words[0]:
        assert data["exit_code"] == int(words[0].split()[-1]) and data["signal"] is None
    assert_nothing_left(tmp_path / f"{name}.jsonl")


@pytest.mark.slow
def test_sigterm_ignorer_times_out_with_sigkill(tmp_path: Path) -> None:
    data, code, _ = run_json(tmp_path, "ignore_sigterm", "--timeout", "0.5")
    assert data["status"] == "timeout" and data["signal"] == 9 and code == 1
    assert_nothing_left(tmp_path / "ignore_sigterm.jsonl")


@pytest.mark.slow
def test_spawn_tree_times_out_and_leaves_nothing(tmp_path: Path) -> None:
    data, code, _ = run_json(tmp_path, "spawn_tree", "--timeout", "1.5")
    assert data["status"] == "timeout" and code == 1
    pgid, reported = run_pids(tmp_path / "spawn_tree.jsonl")
    assert len(reported) == 5
    assert_nothing_left(tmp_path / "spawn_tree.jsonl")


@pytest.mark.slow
def test_flood_through_the_cli_keeps_every_line(tmp_path: Path) -> None:
    data, code, _ = run_json(tmp_path, "flood")  # floods for 3 s
    assert data["status"] == "ok" and code == 0 and data["malformed_lines"] == 0
    rec = read_recording(tmp_path / "flood.jsonl")
    lines = [u for _t, u in rec.runs[0].items if type(u).__name__ == "EventReceived"]
    # start + every progress line + summary, all recorded
    assert len(lines) == data["result_value"] + 2 and rec.skipped == 0


def _wait_for_lines(record: Path, want: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if record.exists():
            text = record.read_text(errors="replace")
            if text.count('"kind":"line"') >= want:
                return
        time.sleep(0.05)
    raise AssertionError(f"no {want} lines in {record} after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ignore_sigterm", "spawn_tree", "close_stdout"])
def test_ctrl_c_of_gildash_stops_the_run_and_leaves_nothing(tmp_path: Path, name: str) -> None:
    record = tmp_path / f"{name}.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "gildash", "run", "--cmd", cmd_of(name), "--threads", "2", "--json",
            "--no-noise-check", "--record", str(record),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(tmp_path),
    )  # fmt: skip
    try:
        _wait_for_lines(record, 1)
        time.sleep(0.4)  # a few tree samples, so the escaped sleep has been seen
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["status"] == "stopped" and proc.returncode == 130
    assert elapsed <= STOP_BUDGET_S + 1.0  # stop budget plus the CLI's own start/exit
    assert_nothing_left(record)
    assert read_recording(record).runs[0].complete
