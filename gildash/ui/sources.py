"""Where the dashboard's data comes from: targets, runs, core samples, a clock (real, recorded or fake).

The app is built from a Sources value so tests feed fakes and recordings and never run benchmarks.
Also owns the run presets the dashboard cycles through (workloads, sizes) and the recording tap.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gildash.engine.model import (
    CoreSample,
    CoreSampleTaken,
    EventReceived,
    MalformedLine,
    RunFinished,
    RunSpec,
    RunStarted,
    RunUpdate,
    SampleTaken,
    StderrReceived,
    Target,
)

if TYPE_CHECKING:
    from gildash.engine.recording import Recorder, Recording


class RunLike(Protocol):
    """What the dashboard needs of a run: engine Run, ReplayRun or a test fake."""

    run_id: str

    def updates(self) -> AsyncIterator[RunUpdate]:
        """RunStarted first, RunFinished last, always."""
        ...

    def stop(self) -> None:
        """Ask the run to end (idempotent)."""
        ...


@dataclass(frozen=True)
class Sources:
    """Everything the dashboard reads from the outside world."""

    targets: Callable[[], list[Target]]
    """Discovery (blocking; called in a thread worker)."""
    start_run: Callable[[RunSpec], RunLike]
    """Creates a run; the dashboard iterates its updates() once."""
    core_sampler: Callable[[], CoreSample]
    """Machine per-core sample (fast; polled on the UI thread by set_interval)."""
    cpu_count: int
    """Logical CPUs of the machine."""
    clock: Callable[[], float]
    """Monotonic seconds for elapsed times (frozen in snapshot tests)."""
    record_dir: Path | None = None
    """Where live runs are recorded (None: don't record)."""


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


WORKLOADS: tuple[str, ...] = (
    "sum_squares",
    "primes",
    "io_bound",
    "single_thread",
    "queue_pipeline",
    "http_server",
)
"""Workloads `w` cycles through, in order."""

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


RUN_SAMPLE_S = 0.25
"""Process-tree sampling period of dashboard runs: one lane cell per screen tick (4 Hz), not the CLI's 10 Hz
(the headline figures come from the workload's own summary either way)."""


def preset(workload: str, size_name: str) -> SizePreset:
    """The preset of a workload by size name (the workload default when unknown)."""
    for p in PRESETS.get(workload, ()):
        if p.name == size_name:
            return p
    return SizePreset(size_name, None, note="default size")


def _zero_sampler(count: int) -> Callable[[], CoreSample]:
    def sample() -> CoreSample:
        return CoreSample(t=time.monotonic(), percent=tuple(0.0 for _ in range(count)))

    return sample


def machine_cpu_count() -> int:
    """Logical CPUs (at least 1)."""
    try:
        import psutil

        return int(psutil.cpu_count() or os.cpu_count() or 1)
    except Exception:
        return os.cpu_count() or 1


def live_sources(config: Path | None = None, *, record_dir: Path | None = None) -> Sources:
    """The real engine: discovery, subprocess runs, /proc/stat core sampling, the monotonic clock."""
    from gildash.engine.interpreters import discover_targets
    from gildash.engine.runner import Run
    from gildash.engine.sampler import CoreSampler

    sampler = CoreSampler()
    sampler.sample()  # prime: the first call only stores counters

    def targets() -> list[Target]:
        return discover_targets(config)

    def start_run(spec: RunSpec) -> RunLike:
        # No core sampler of the run's own: the dashboard records the per-core samples it draws.
        return Run(spec, sample_interval=RUN_SAMPLE_S, core_sample_interval=None)

    return Sources(
        targets=targets,
        start_run=start_run,
        core_sampler=sampler.sample,
        cpu_count=machine_cpu_count(),
        clock=time.monotonic,
        record_dir=record_dir,
    )


def recording_targets(recording: Recording) -> list[Target]:
    """The distinct targets of a recording's runs, in order of first appearance."""
    seen: dict[str, Target] = {}
    for run in recording.runs:
        seen.setdefault(run.spec.target.id, run.spec.target)
    return list(seen.values())


def recording_cpu_count(recording: Recording) -> int | None:
    """CPUs of the machine that made the recording (from its core samples or start lines)."""
    for run in recording.runs:
        for _t, update in run.items:
            if isinstance(update, CoreSampleTaken) and update.sample.percent:
                return len(update.sample.percent)
            if isinstance(update, EventReceived):
                count = getattr(update.event, "cpu_count", None)
                if isinstance(count, int) and count > 0:
                    return count
    return None


def replay_sources(recording: Recording) -> Sources:
    """Sources for replaying a recording: its targets, no live runs, an idle core sampler."""
    count = recording_cpu_count(recording) or machine_cpu_count()

    def no_live_runs(spec: RunSpec) -> RunLike:
        raise RuntimeError("replay mode runs nothing live")

    targets = recording_targets(recording)
    return Sources(
        targets=lambda: list(targets),
        start_run=no_live_runs,
        core_sampler=_zero_sampler(count),
        cpu_count=count,
        clock=time.monotonic,
        record_dir=None,
    )


class RunTap:
    """Writes one run's updates to a Recorder as they pass (write errors never raise: Recorder's rule)."""

    def __init__(self, recorder: Recorder, run_id: str) -> None:
        self._recorder = recorder
        self._run_id = run_id
        self._t = 0.0
        self._ended = False
        """The run's result is written: nothing of this run may follow it (a late core sample)."""

    def __call__(self, update: RunUpdate) -> None:
        self.batch((update,))

    def batch(self, updates: Sequence[RunUpdate]) -> None:
        """Record updates in order; consecutive stdout lines go out in one write."""
        rec, run_id = self._recorder, self._run_id
        lines: list[tuple[float, str, bool]] = []
        for update in updates:
            if self._ended:
                break
            if isinstance(update, EventReceived):
                self._t = update.t
                truncated = isinstance(update.event, MalformedLine) and update.event.truncated
                lines.append((update.t, update.raw, truncated))
                continue
            if lines:
                rec.lines(run_id, lines)
                lines = []
            if isinstance(update, RunStarted):
                rec.run_start(run_id, update.spec, update.argv, update.pid, update.noisy, time.time())
            elif isinstance(update, StderrReceived):
                self._t = update.t
                rec.stderr(run_id, update.t, update.line)
            elif isinstance(update, SampleTaken):
                self._t = update.sample.t
                rec.sample(run_id, update.sample)
            elif isinstance(update, CoreSampleTaken):
                # Core samples carry the monotonic clock; the recording wants harness time.
                rec.cores(run_id, self._t, update.sample)
            elif isinstance(update, RunFinished):
                rec.result(run_id, update.result)
                self._ended = True
        if lines:
            rec.lines(run_id, lines)


class BackgroundTap:
    """Hands a run's updates to a writer thread: JSON encoding and file writes stay off the UI thread.

    Every update is written, in order; close() waits until the thread wrote them all.
    """

    POLL_S = 0.05
    """How often the writer thread looks for new updates (it writes them in one go)."""

    def __init__(self, tap: RunTap) -> None:
        self._tap = tap
        self._queue: deque[RunUpdate] = deque()  # append/popleft are thread-safe
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="gildash-record", daemon=True)
        self._thread.start()

    def __call__(self, update: RunUpdate) -> None:
        self._queue.append(update)

    def _write_loop(self) -> None:
        queue = self._queue
        while True:
            closing = self._closing.wait(self.POLL_S)
            while queue:
                # What arrived since the last look, in order: one write for its lines, not one per line.
                batch = [queue.popleft() for _ in range(len(queue))]
                try:
                    self._tap.batch(batch)
                except Exception:
                    pass  # the Recorder never raises; a broken tap must not kill the thread with lines left
            if closing:
                return

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued and stop the thread (blocks; call it off the event loop)."""
        self._closing.set()
        self._thread.join(timeout)

    @property
    def pending(self) -> int:
        """Updates not yet written."""
        return len(self._queue)
