"""Corrupt inputs: truncated/garbled recordings export and replay what is valid and say what was skipped;
a broken config is one clear error naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_support import cli_env, gildash, hostile_spec, one_error_line

from gildash.engine.recording import Recorder, read_recording
from gildash.engine.runner import execute


async def _record(path: Path, *names: str) -> None:
    with Recorder(path) as rec:
        for name in names:
            await execute(hostile_spec(name), recorder=rec, noise_check=False)


@pytest.fixture
async def good_recording(tmp_path: Path) -> Path:
    path = tmp_path / "good.jsonl"
    await _record(path, "non_json", "exit3_after_summary")
    return path


def _garble(path: Path) -> tuple[Path, int]:
    """Insert 3 garbage lines in the middle and cut the last record in half; returns (path, garbage)."""
    lines = path.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    junk = [b"\x00\xff\xfe binary junk\n", b'{"kind": "line", "run_id": 7}\n', b"[not, json\n"]
    garbled = lines[:middle] + junk + lines[middle:-1] + [lines[-1][: len(lines[-1]) // 2]]
    out = path.with_name("garbled.jsonl")
    out.write_bytes(b"".join(garbled))
    return out, len(junk) + 1  # the half record is skipped too


def test_garbled_recording_reads_what_is_valid(good_recording: Path) -> None:
    garbled, bad = _garble(good_recording)
    rec = read_recording(garbled)
    assert rec.skipped == bad
    assert len(rec.runs) == 2
    first, second = rec.runs
    assert first.complete and first.result.malformed_lines == 5
    # The second run lost its result record (cut in half): rebuilt from its lines, marked incomplete.
    assert not second.complete and "incomplete" in second.result.message


@pytest.mark.parametrize("fmt", ["csv", "md", "json"])
def test_export_of_a_garbled_recording_reports_what_was_skipped(
    good_recording: Path, tmp_path: Path, fmt: str
) -> None:
    garbled, bad = _garble(good_recording)
    proc = gildash("export", str(garbled), "--format", fmt, env=cli_env(tmp_path))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"skipped {bad} corrupt" in proc.stderr
    assert "incomplete" in proc.stderr
    assert proc.stdout.strip()
    if fmt == "json":
        assert '"complete": false' in json.dumps(json.loads(proc.stdout))


def test_recording_truncated_to_its_header_and_a_half_line(good_recording: Path, tmp_path: Path) -> None:
    data = good_recording.read_bytes()
    header_end = data.index(b"\n") + 1
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: header_end + 40])  # header, then 40 bytes of the run_start record
    proc = gildash("export", str(cut), "--format", "csv", env=cli_env(tmp_path))
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1 and "skipped 1" in proc.stderr and "no runs" in proc.stderr


@pytest.mark.parametrize(
    "content",
    [b"", b"not a recording\n", b"\xff\xfe\x00\x00" * 100, b'{"gildash_recording": 99}\n'],
    ids=["empty", "text", "binary", "future-version"],
)
def test_not_a_recording_is_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bogus.jsonl"
    path.write_bytes(content)
    for args in (["export", str(path), "--format", "md"], ["replay", str(path)]):
        proc = gildash(*args, env=cli_env(tmp_path))
        line = one_error_line(proc)
        assert str(path) in line


async def test_dashboard_replays_a_garbled_recording_and_names_the_skipped_lines(
    good_recording: Path,
) -> None:
    from gildash.ui.app import make_app
    from gildash.ui.sources import replay_sources
    from gildash.ui.widgets.run_panel import RunPanel
    from gildash.ui.widgets.targets import TargetsPanel

    garbled, bad = _garble(good_recording)
    app = make_app(replay_sources(read_recording(garbled)), replay=garbled, speed=0)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = app.dashboard
        for _ in range(200):
            if dash.targets:
                break
            await pilot.pause(0.02)
        panel = dash.query_one(TargetsPanel)
        assert f"{bad} unreadable lines skipped" in panel.render().plain
        await pilot.press("r")
        for _ in range(200):
            if dash.last_result is not None and not dash.running:
                break
            await pilot.pause(0.02)
        assert "5 malformed lines" in dash.query_one(RunPanel).status_text


# --- config -------------------------------------------------------------------------------------------

# Tiny on purpose: if the config were ignored the sweep would run, and it must stay quick.
TINY_SWEEP = ("sweep", "sum_squares", "--threads", "1", "--repeat", "1", "--size", "1", "--targets", "py3.11")
BROKEN_TOML = b'[[targets]]\npath = "/usr/bin/python3"\nlabel = "unterminated\nid = "x"\n'


@pytest.mark.parametrize(
    "argv",
    [["targets"], ["run", "sum_squares", "--threads", "1"], [*TINY_SWEEP], []],
    ids=["targets", "run", "sweep", "dashboard"],
)
def test_broken_toml_config_is_one_error_naming_file_and_line(tmp_path: Path, argv: list[str]) -> None:
    config = tmp_path / "broken.toml"
    config.write_bytes(BROKEN_TOML)
    proc = gildash("--config", str(config), *argv, env=cli_env(tmp_path), timeout=30)
    line = one_error_line(proc)
    assert str(config) in line and "line 3" in line


@pytest.mark.parametrize(
    "argv", [["targets"], ["run", "sum_squares"], [*TINY_SWEEP]], ids=["targets", "run", "sweep"]
)
def test_broken_config_after_the_subcommand_too(tmp_path: Path, argv: list[str]) -> None:
    config = tmp_path / "broken.toml"
    config.write_bytes(BROKEN_TOML)
    line = one_error_line(gildash(*argv, "--config", str(config), env=cli_env(tmp_path), timeout=30))
    assert str(config) in line and "line 3" in line


def test_config_with_bad_values_names_the_entry_line(tmp_path: Path) -> None:
    config = tmp_path / "values.toml"
    config.write_text("# comment\n\n[[targets]]\npath = 42\n", encoding="utf-8")
    line = one_error_line(gildash("targets", "--config", str(config), env=cli_env(tmp_path)))
    assert f"{config}:3" in line and "path" in line


def test_config_that_is_binary_or_missing(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    line = one_error_line(gildash("targets", "--config", str(binary), env=cli_env(tmp_path)))
    assert str(binary) in line
    missing = tmp_path / "missing.toml"
    line = one_error_line(gildash("targets", "--config", str(missing), env=cli_env(tmp_path)))
    assert str(missing) in line
