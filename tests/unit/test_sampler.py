"""sampler: per-core deltas from its own counters, process-tree sampling, system noise."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from gildash.engine import sampler as sampler_module
from gildash.engine.sampler import CoreSampler, TreeSampler, kill_processes, system_noise


def test_core_sampler_first_call_zero_then_percent() -> None:
    sampler = CoreSampler()
    first = sampler.sample()
    assert len(first.percent) == psutil.cpu_count() and all(p == 0.0 for p in first.percent)
    time.sleep(0.1)
    second = sampler.sample()
    assert all(0.0 <= p <= 100.0 for p in second.percent) and second.t > first.t


def test_tree_sampler_sees_children_and_cpu() -> None:
    code = (
        "import subprocess, sys, time\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "end = time.monotonic() + 30\n"
        "while time.monotonic() < end: pass\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        sampler = TreeSampler(proc.pid)
        time.sleep(0.4)
        sampler.sample()
        time.sleep(0.3)
        sample = sampler.sample()
        assert sample is not None
        assert sample.processes == 2 and sample.rss_bytes > 0
        assert 0.3 < sample.effective_cores < 1.5  # one busy loop
        assert sample.thread_ids and all(0 <= u <= 1 for u in sample.thread_util)
        assert len(sampler.known_processes()) == 2
    finally:
        kill_processes(TreeSampler(proc.pid).tree())
        proc.wait()
    assert TreeSampler(proc.pid).sample() is None


def test_system_noise_is_non_negative() -> None:
    noise = system_noise(0.1)
    assert noise >= 0.0


def _spawner(delay: float) -> subprocess.Popen[bytes]:
    """A process that sleeps `delay` s, then starts a sleeping child and prints its pid."""
    code = (
        "import subprocess, sys, time\n"
        f"time.sleep({delay})\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print(c.pid, flush=True)\n"
        "time.sleep(30)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)


def _child_pid(proc: subprocess.Popen[bytes]) -> int:
    assert proc.stdout is not None
    return int(proc.stdout.readline())


def _reap(proc: subprocess.Popen[bytes], sampler: TreeSampler) -> None:
    kill_processes([*sampler.tree(), *sampler.known_processes()])
    proc.kill()
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def _gone(pid: int, timeout: float = 3.0) -> bool:
    """The pid exits (or is a zombie) within timeout: SIGKILL lands asynchronously."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_tree_sampler_reuses_its_scan_until_something_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    last_pid = [1000]
    monkeypatch.setattr(sampler_module, "_last_pid", lambda: last_pid[0])
    monkeypatch.setattr(sampler_module, "RESCAN_S", 3600.0)
    proc = _spawner(0.0)
    sampler = TreeSampler(proc.pid)
    try:
        first = sampler.sample()
        child = _child_pid(proc)
        assert first is not None
        if first.processes == 1:  # scanned before the child existed
            cached = sampler.sample()  # nothing forked as far as /proc/loadavg says: the scan is reused
            assert cached is not None and cached.processes == 1
        assert [p.pid for p in sampler.tree()] == [proc.pid, child]  # tree() always scans
        last_pid[0] += 1
        fresh = sampler.sample()
        assert fresh is not None and fresh.processes == 2
        assert child in {p.pid for p in sampler.known_processes()}
    finally:
        _reap(proc, sampler)
    assert _gone(child)
    assert sampler.sample() is None  # the cached root is gone: no sample, even without a rescan


def test_tree_sampler_stale_scan_is_refreshed_after_rescan_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampler_module, "_last_pid", lambda: 7)  # as if nothing ever forked
    monkeypatch.setattr(sampler_module, "RESCAN_S", 0.2)
    proc = _spawner(0.0)
    sampler = TreeSampler(proc.pid)
    try:
        sampler.sample()
        child = _child_pid(proc)
        time.sleep(0.25)
        sample = sampler.sample()
        assert sample is not None and sample.processes == 2
        assert child in {p.pid for p in sampler.known_processes()}
    finally:
        _reap(proc, sampler)


@pytest.mark.skipif(sampler_module._last_pid() is None, reason="no /proc/loadavg")
def test_tree_sampler_finds_a_new_child_at_once_through_loadavg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampler_module, "RESCAN_S", 3600.0)  # only the last-pid signal can trigger a scan
    proc = _spawner(0.3)
    sampler = TreeSampler(proc.pid)
    try:
        first = sampler.sample()
        assert first is not None and first.processes == 1
        child = _child_pid(proc)
        sample = sampler.sample()
        assert sample is not None and sample.processes == 2
        assert child in {p.pid for p in sampler.known_processes()}
    finally:
        _reap(proc, sampler)


@pytest.mark.skipif(sampler_module._last_pid() is None, reason="no /proc/loadavg")
def test_tree_sampler_finds_new_descendants_without_a_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    # Something forks between most samples on a busy machine: only the new processes are read then.
    monkeypatch.setattr(sampler_module, "RESCAN_S", 3600.0)
    sleeper = "import time; time.sleep(30)"
    middle = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {sleeper!r}]); time.sleep(30)"
    )
    spawn = "import subprocess, sys, time; time.sleep(0.3); subprocess.Popen([sys.executable, '-c', {!r}])"
    code = spawn.format(middle) + "; time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    sampler = TreeSampler(proc.pid)
    try:
        first = sampler.sample()
        assert first is not None and first.processes == 1
        scans = []
        children = psutil.Process.children
        monkeypatch.setattr(
            psutil.Process, "children", lambda self, **kw: scans.append(1) or children(self, **kw)
        )
        deadline = time.monotonic() + 10
        sample = sampler.sample()
        while sample is not None and sample.processes < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            sample = sampler.sample()
        assert sample is not None and sample.processes == 3  # the child and the grandchild
        assert scans == []
        assert len(sampler.known_processes()) == 3
    finally:
        monkeypatch.undo()
        kill_processes([*sampler.tree(), *sampler.known_processes()])
        proc.kill()
        proc.wait()


def test_noise_check_ignores_our_own_display_chain() -> None:
    # The parent (standing in for tmux or a terminal drawing the dashboard) burns a core; it is not noise.
    import subprocess
    import sys

    parent = (
        "import subprocess, sys, threading\n"
        "def burn():\n"
        "    while True:\n"
        "        pass\n"
        "threading.Thread(target=burn, daemon=True).start()\n"
        "code = 'from gildash.engine.sampler import system_noise; print(system_noise(0.5))'\n"
        "out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)\n"
        "print(out.stdout.strip())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, timeout=30, check=True
    )
    assert float(out.stdout.strip().splitlines()[-1]) < 0.5
