"""Where the dashboard's data comes from: targets, runs, core samples, a clock (real, recorded or fake).

The app is built from a Sources value so tests feed fakes and recordings and never run benchmarks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gildash.engine.machine import MachineFacts
from gildash.engine.model import (
    CoreSample,
    EventReceived,
    RunSpec,
    Target,
)
from gildash.engine.session import RunLike

if TYPE_CHECKING:
    from gildash.engine.calibrate import Calibration, Calibrator, SizeRun
    from gildash.engine.recording import Recording
    from gildash.engine.remote.host import RemoteHost
    from gildash.engine.remote.watch import CoreWatch


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
    clock: Callable[[], float] = time.monotonic
    """Monotonic seconds for elapsed times (frozen in snapshot tests)."""
    record_dir: Path | None = None
    """Where live runs are recorded (None: don't record)."""
    recording: Recording | None = None
    """The recording a replay plays, already opened (the file is read once per command)."""
    calibrate: Calibrator | None = None
    """Finds each sweep target's size before the sweep's first run (None: sweeps run at the preset size)."""
    physical_cores: int | None = None
    """Physical cores this process may use (the speedup chart marks them); None when not reported."""
    machine: Callable[[], MachineFacts] | None = None
    """Reads the machine's facts before a sweep, for its warnings (None: sweeps warn of no machine facts)."""
    host: str | None = None
    """The ssh destination whose cores and targets these are (None: this machine), for the header."""


RUN_SAMPLE_S = 0.25
"""Process-tree sampling period of dashboard runs: one lane cell per screen tick (4 Hz), not the CLI's 10 Hz
(the headline figures come from the workload's own summary either way)."""


def _zero_sampler(count: int) -> Callable[[], CoreSample]:
    def sample() -> CoreSample:
        return CoreSample(t=time.monotonic(), percent=tuple(0.0 for _ in range(count)))

    return sample


def machine_cpu_count() -> int:
    """Logical CPUs (at least 1)."""
    # os.cpu_count() is what psutil.cpu_count() returns (its docs say so), without importing psutil at start.
    return os.cpu_count() or 1


SIMULATE_CORES_ENV = "GILDASH_SIMULATE_CORES"
"""Set to a core count (2..4096) to draw a simulated machine's core load instead of this one's (the
benchmark of the many-core display uses it; runs still run here). Anything else is ignored."""


def simulated_cores() -> int | None:
    """The core count GILDASH_SIMULATE_CORES asks for, None when unset or not a count in 2..4096."""
    value = os.environ.get(SIMULATE_CORES_ENV, "").strip()
    return int(value) if value.isascii() and value.isdigit() and 2 <= int(value) <= 4096 else None


def live_sources(config: Path | None = None, *, record_dir: Path | None = None) -> Sources:
    """The real engine: discovery, subprocess runs, /proc/stat core sampling, the monotonic clock."""
    from gildash.engine.core_load import CoreSampler, SimulatedCoreSampler
    from gildash.engine.machine import read_machine

    simulated = simulated_cores()
    sampler: CoreSampler | SimulatedCoreSampler
    sampler = CoreSampler() if simulated is None else SimulatedCoreSampler(simulated)
    sampler.sample()  # prime: the first call only stores counters

    def targets() -> list[Target]:
        from gildash.engine.interpreters import discover_targets  # lazy: discovery runs after the first frame

        return discover_targets(config)

    async def calibrate(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        from gildash.engine.calibrate import cached_calibration  # lazy: only a sweep calibrates

        return await cached_calibration(spec, run)

    def start_run(spec: RunSpec) -> RunLike:
        from gildash.engine.runner import Run  # lazy: the runner (and psutil) wait for the first run

        # No core sampler of the run's own: the dashboard records the per-core samples it draws.
        return Run(spec, sample_interval=RUN_SAMPLE_S, core_sample_interval=None)

    return Sources(
        targets=targets,
        start_run=start_run,
        core_sampler=sampler.sample,
        cpu_count=machine_cpu_count() if simulated is None else simulated,
        record_dir=record_dir,
        calibrate=calibrate,
        physical_cores=read_machine().usable_physical_cores,
        machine=read_machine,
    )


def remote_sources(session: RemoteHost, watch: CoreWatch, *, record_dir: Path | None = None) -> Sources:
    """A host over ssh (an open session): its targets, runs by its agent, its cores from the agent's watch.

    Sweeps run at the preset size: the calibration cache belongs to this machine.
    """
    from gildash.engine.remote.run import RemoteRun

    facts = session.machine

    def start_run(spec: RunSpec) -> RunLike:
        # No core samples of the run's own: the dashboard records the host's cores it draws (the watch).
        return RemoteRun(spec, session, sample_interval=RUN_SAMPLE_S, core_sample_interval=None)

    def machine() -> MachineFacts:
        assert facts is not None
        return facts

    return Sources(
        targets=session.targets,
        start_run=start_run,
        core_sampler=watch.sample,
        cpu_count=session.cores,
        record_dir=record_dir,
        physical_cores=facts.usable_physical_cores if facts is not None else None,
        machine=machine if facts is not None else None,
        host=session.host,
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
            if isinstance(update, CoreSample) and update.percent:
                return len(update.percent)
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
        recording=recording,
    )
