"""sampler: per-core deltas from its own counters, process-tree sampling, system noise."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

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
