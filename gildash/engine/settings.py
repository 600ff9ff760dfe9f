"""What the user is choosing: the size presets a dashboard cycles through and one frozen RunSettings value.

`RunSettings.to_spec(target)` is the only way a selection becomes a RunSpec; what is *running* is always
that RunSpec (see engine/session.py), never these settings. Never imports textual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gildash.engine.catalog import WORKLOADS
from gildash.engine.model import Executor, RunSpec, Target


@dataclass(frozen=True)
class SizePreset:
    """One of a workload's small / medium / large sizes."""

    name: str
    """small, medium or large."""
    size: int | None
    """--size (None: the workload's default)."""
    extra_args: tuple[str, ...] = ()
    """Further flags (http_server is sized by --duration)."""
    note: str = ""
    """What the size means, for the run panel (e.g. '10M per thread')."""


SIZE_NAMES: tuple[str, ...] = ("small", "medium", "large")
"""Size presets `z` cycles through."""

# Measured on the 2-core dev box with CPython 3.11 at 1 thread: about 0.5 s / 2 s / 6 s of wall each.
PRESETS: dict[str, tuple[SizePreset, SizePreset, SizePreset]] = {
    "sum_squares": (
        SizePreset("small", 10_000_000, note="10M per thread"),
        SizePreset("medium", 40_000_000, note="40M per thread"),
        SizePreset("large", 120_000_000, note="120M per thread"),
    ),
    "primes": (
        SizePreset("small", 450_000, note="primes < 450k, split"),
        SizePreset("medium", 1_200_000, note="primes < 1.2M, split"),
        SizePreset("large", 2_400_000, note="primes < 2.4M, split"),
    ),
    "io_bound": (
        SizePreset("small", 16, note="16 file ops, split"),
        SizePreset("medium", 64, note="64 file ops, split"),
        SizePreset("large", 192, note="192 file ops, split"),
    ),
    "single_thread": (
        SizePreset("small", 6_000_000, note="6M loop"),
        SizePreset("medium", 24_000_000, note="24M loop"),
        SizePreset("large", 72_000_000, note="72M loop"),
    ),
    "queue_pipeline": (
        SizePreset("small", 40_000, note="40k items, split"),
        SizePreset("medium", 150_000, note="150k items, split"),
        SizePreset("large", 450_000, note="450k items, split"),
    ),
    "http_server": (
        SizePreset("small", None, ("--duration", "0.5"), note="0.5 s of load"),
        SizePreset("medium", None, ("--duration", "2"), note="2 s of load"),
        SizePreset("large", None, ("--duration", "6"), note="6 s of load"),
    ),
}
"""Size presets per workload."""


def preset(workload: str, size_name: str) -> SizePreset:
    """The preset of a workload by size name (the workload default when unknown)."""
    for p in PRESETS.get(workload, ()):
        if p.name == size_name:
            return p
    return SizePreset(size_name, None, note="default size")


MAX_THREADS = 1024
"""Largest worker count anything in gildash starts (the CLI, the runner and the `+` key alike)."""


@dataclass(frozen=True)
class RunSettings:
    """The selection: what `r` would run next (not what is running)."""

    workload: str = "sum_squares"
    """Workload name."""
    threads: int = 2
    """Worker count."""
    size_name: str = "medium"
    """small, medium or large (a preset of the workload)."""
    executor: Executor = "thread"
    """thread or process."""
    switch_interval_s: float | None = None
    """sys.setswitchinterval for Python workloads (None: the interpreter's own)."""

    @property
    def preset(self) -> SizePreset:
        """The size preset these settings name."""
        return preset(self.workload, self.size_name)

    def to_spec(self, target: Target) -> RunSpec:
        """The RunSpec these settings give for a target."""
        p = self.preset
        return RunSpec(target, self.workload, self.threads, p.size, self.executor, extra_args=p.extra_args)

    def next_workload(self) -> RunSettings:
        """The next workload in catalog.WORKLOADS order."""
        i = WORKLOADS.index(self.workload) if self.workload in WORKLOADS else -1
        return replace(self, workload=WORKLOADS[(i + 1) % len(WORKLOADS)])

    def next_size(self) -> RunSettings:
        """The next size preset (small, medium, large)."""
        i = SIZE_NAMES.index(self.size_name) if self.size_name in SIZE_NAMES else -1
        return replace(self, size_name=SIZE_NAMES[(i + 1) % len(SIZE_NAMES)])

    def with_threads(self, step: int) -> RunSettings:
        """More or fewer workers (1..MAX_THREADS)."""
        return replace(self, threads=max(1, min(MAX_THREADS, self.threads + step)))

    def other_executor(self) -> RunSettings:
        """Threads <-> processes."""
        return replace(self, executor="process" if self.executor == "thread" else "thread")
