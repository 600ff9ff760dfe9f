"""kill -9 of gildash (CLI and dashboard) mid-run: the workload and its children exit by themselves within
2 s, the recording keeps every line received before the kill, and export marks the run incomplete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_support import REPO, cli_env, describe, gildash, kill_leftovers, survivors, walk_tree

from gildash.engine.recording import read_recording

ORPHAN_BUDGET_S = 2.0
"""The issue's bound: a workload whose parent died exits by itself within 2 s."""


def _line_records(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_text(errors="replace").count('"kind":"line"')


def _wait(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _run_start_pid(path: Path) -> int:
    for line in path.read_text(errors="replace").splitlines():
        if '"kind":"run_start"' in line:
            return int(json.loads(line)["pid"])
    return 0


def _kill9_and_check(proc: subprocess.Popen[bytes], record: Path, tmp_path: Path) -> None:
    _wait(lambda: _line_records(record) >= 4)  # start line and a few progress lines
    pid = _run_start_pid(record)
    assert pid > 0
    # the whole tree at the moment of the kill: workload + its process-executor children
    _wait(lambda: len(walk_tree(pid)) >= 3)
    tree = walk_tree(pid)
    before = _line_records(record)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = survivors(pid, tree, wait_s=ORPHAN_BUDGET_S)
    kill_leftovers(left)
    assert not left, f"still running {ORPHAN_BUDGET_S} s after gildash died: {describe(left)}"

    recording = read_recording(record)
    assert recording.skipped <= 1  # at most the record being written at the instant of the kill
    assert len(recording.runs) == 1
    run = recording.runs[0]
    assert not run.complete and not run.result.complete
    kept = sum(1 for _t, u in run.items if type(u).__name__ == "EventReceived")
    assert kept >= before  # every line received before the kill is in the file

    exported = gildash("export", str(record), "--format", "json", env=cli_env(tmp_path))
    assert exported.returncode == 0, exported.stderr
    assert "Traceback" not in exported.stderr and "incomplete" in exported.stderr
    data = json.loads(exported.stdout)
    assert '"complete": false' in json.dumps(data)


@pytest.mark.slow
def test_kill9_of_the_cli(tmp_path: Path) -> None:
    record = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "gildash", "run", "sum_squares", "--size", str(10**12), "--threads", "2",
            "--executor", "process", "--target", sys.executable, "--no-noise-check", "--record", str(record),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(tmp_path),
    )  # fmt: skip
    try:
        _kill9_and_check(proc, record, tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_kill9_of_the_dashboard(tmp_path: Path) -> None:
    record_dir = tmp_path / "recordings"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("dashboard_child.py")), str(record_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(tmp_path),
        cwd=str(REPO),
    )
    try:
        _wait(lambda: record_dir.is_dir() and any(record_dir.glob("*.jsonl")))
        record = next(record_dir.glob("*.jsonl"))
        _kill9_and_check(proc, record, tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
