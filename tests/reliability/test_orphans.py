"""Processes a killed gildash could not reap (kill -9 while a workload is stopped with SIGSTOP, or left a
detached descendant) are found by their run's environment marker and killed when the next run starts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from reliability_support import alive, cli_env, describe, hostile_cmd, hostile_spec, kill_leftovers, survivors

from gildash.engine.reaper import OWNER_MARKER, RUN_MARKER, marked_pids, owner_value, reap_orphans
from gildash.engine.runner import execute


def _wait(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _stopped(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False


def test_kill9_of_gildash_with_a_stopped_workload_is_reaped_by_the_next_run(tmp_path: Path) -> None:
    record = tmp_path / "r.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gildash", "run", "--cmd", " ".join(hostile_cmd("stop_self")),
         "--no-noise-check", "--record", str(record)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env(tmp_path),
    )  # fmt: skip
    pid = 0
    try:
        _wait(lambda: record.exists() and '"kind":"run_start"' in record.read_text())
        start = next(line for line in record.read_text().splitlines() if '"kind":"run_start"' in line)
        pid = int(json.loads(start)["pid"])
        _wait(lambda: _stopped(pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(2.5)  # the orphan budget of the workloads' own watchdog: a stopped one cannot use it
        assert alive(pid), "the stopped workload should have outlived gildash (nothing could reap it)"
        result = asyncio.run(execute(hostile_spec("no_summary"), noise_check=False))
        assert result.status == "failed"
        left = survivors(pid, [pid])
        assert not left, f"the next run did not reap the orphan: {describe(left)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pid:
            kill_leftovers([p for p in [pid] if alive(p)])


def test_reap_orphans_spares_runs_of_a_live_gildash_and_foreign_processes() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    base = {k: v for k, v in os.environ.items() if k not in (RUN_MARKER, OWNER_MARKER)}
    dead_owner = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_owner.wait()
    ours = subprocess.Popen(sleeper, env={**base, RUN_MARKER: "live", OWNER_MARKER: owner_value()})
    orphan = subprocess.Popen(
        sleeper,
        env={**base, RUN_MARKER: "orphan", OWNER_MARKER: f"{dead_owner.pid}:1"},
        start_new_session=True,
    )
    foreign = subprocess.Popen(sleeper, env=base)
    try:
        _wait(lambda: bool(marked_pids("orphan") and marked_pids("live")), 5)  # exec'd, environ readable
        assert reap_orphans() == [orphan.pid]
        orphan.wait(timeout=5)
        assert ours.poll() is None and foreign.poll() is None
    finally:
        for p in (ours, orphan, foreign):
            p.kill()
            p.wait()
