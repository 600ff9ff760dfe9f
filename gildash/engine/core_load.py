"""The machine's per-core load: /proc/stat where there is one (as the host agent reads it), psutil elsewhere,
or a simulated many-core machine. Imports no psutil up front: the dashboard samples cores from its
first frame, long before it needs anything else psutil offers. Never imports textual.
"""

from __future__ import annotations

import os
import time
from typing import Any

from gildash.engine.model import CoreSample
from gildash.hostagent import CoreLoad


def busy_seconds(times: Any) -> float:
    """Busy seconds of a cpu_times() entry: everything except idle and iowait."""
    total = float(sum(times))
    return total - float(getattr(times, "idle", 0.0)) - float(getattr(times, "iowait", 0.0))


class CoreSampler:
    """Per-core busy percent of the whole machine between consecutive calls (first call: zeros).

    On Linux it reads /proc/stat itself, as the host agent does (hostagent.CoreLoad): psutil's per-CPU
    times cost ~20x more per call, and the dashboard calls this 4 times a second, run or no run.
    """

    def __init__(self) -> None:
        self._prev: list[tuple[float, float]] | None = None
        self._proc = CoreLoad() if os.path.exists("/proc/stat") else None

    def sample(self) -> CoreSample:
        """Percent busy per logical CPU since the previous call, 0..100."""
        now = time.monotonic()
        if self._proc is not None:
            return CoreSample(t=now, percent=tuple(self._proc.sample()))
        import psutil  # lazy: only where /proc/stat is missing; the dashboard starts faster without it

        current = [(busy_seconds(c), sum(c)) for c in psutil.cpu_times(percpu=True)]
        prev, self._prev = self._prev, current
        if prev is None or len(prev) != len(current):
            return CoreSample(t=now, percent=tuple(0.0 for _ in current))
        percent = []
        for (busy1, total1), (busy0, total0) in zip(current, prev, strict=True):
            d_total = total1 - total0
            pct = 100.0 * (busy1 - busy0) / d_total if d_total > 0 else 0.0
            percent.append(min(100.0, max(0.0, pct)))
        return CoreSample(t=now, percent=tuple(percent))


class SimulatedCoreSampler:
    """A made-up machine of `cores` logical CPUs (benchmarks and demos of many-core displays, never data).

    Deterministic for a seed: blocks of cores busy with a job that moves every few seconds, the rest
    idle with a little noise, so a display shows changing, structured load as a real big machine would.
    """

    def __init__(self, cores: int, *, seed: int = 0) -> None:
        import random

        self.cores = max(1, cores)
        self._random = random.Random(seed)
        self._calls = 0
        self._busy: list[float] = []
        self._move()

    def _move(self) -> None:
        """A new job layout: a random run of cores near full, a few at half load, the rest idle."""
        rnd, n = self._random, self.cores
        start, length = rnd.randrange(n), rnd.randint(max(1, n // 8), max(1, n // 2))
        self._busy = [0.0] * n
        for i in range(start, start + length):
            self._busy[i % n] = 95.0
        for _ in range(max(1, n // 32)):
            self._busy[rnd.randrange(n)] = 50.0

    def sample(self) -> CoreSample:
        """Percent busy per simulated CPU, 0..100 (the layout moves every 40 calls, 10 s at 4 Hz)."""
        self._calls += 1
        if self._calls % 40 == 0:
            self._move()
        noise = self._random.random
        percent = tuple(min(100.0, b + 4.0 * noise()) for b in self._busy)
        return CoreSample(t=time.monotonic(), percent=percent)
