"""What is running now: one run or one sweep at a time, its stop, its digest and its recording.

The dashboard (through a Textual worker), tests and any other front end drive a RunSession; it never
imports textual. It owns the spec of the run on show (`shown`): every panel that describes a run reads
that, never the user's current selection. Front ends hear about progress through a SessionListener and
read what accumulated with `digester.take()` at their own pace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from gildash.engine.catalog import unsupported
from gildash.engine.digest import RunDigester
from gildash.engine.machine import MachineFacts
from gildash.engine.model import (
    CoreSample,
    Executor,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunUpdate,
    SweepPlan,
    SweepProgress,
    SweepResult,
    Target,
)
from gildash.engine.record_tap import BackgroundTap, RunTap
from gildash.engine.settings import RunSettings

if TYPE_CHECKING:
    from gildash.engine.calibrate import Calibrator, PlanCalibration, SizeRun
    from gildash.engine.recording import Recorder

YIELD_EVERY = 500
"""Updates processed between forced yields to the event loop (a flood must not starve a UI)."""

SessionMode = Literal["idle", "run", "sweep"]


class RunLike(Protocol):
    """What a session needs of a run: the engine's Run, a ReplayRun or a test fake."""

    run_id: str

    def updates(self) -> AsyncIterator[RunUpdate]:
        """RunStarted first, RunFinished last, always."""
        ...

    def stop(self) -> None:
        """Ask the run to end (idempotent)."""
        ...


class SessionListener(Protocol):
    """How a session tells its front end that something happened (called on the driving event loop)."""

    def session_poke(self) -> None:
        """A run started or ended: show what is pending now rather than at the next frame."""
        ...

    def session_sweep_step(self, progress: SweepProgress) -> None:
        """One more run of the sweep finished."""
        ...

    def session_sweep_ended(self, result: SweepResult | None, stopped: bool) -> None:
        """The sweep finished or was stopped (result None: no run finished)."""
        ...

    def session_notice(self, text: str) -> None:
        """Something the user should read once (a recording problem); never an exception."""
        ...


@dataclass(frozen=True)
class SweepChoice:
    """What `s` sweeps for a selection: the plan, and each target it had to leave out with the reason."""

    plan: SweepPlan | None
    """The sweep to run (None: nothing runnable)."""
    dropped: tuple[tuple[str, str], ...]
    """(target id, why) for each headline target left out, e.g. rust with the process executor."""

    @property
    def note(self) -> str:
        """What the sweep leaves out, in one line ('' when nothing)."""
        return "; ".join(f"without {target_id}: {why}" for target_id, why in self.dropped)


def headline_targets(
    targets: Sequence[Target], selected: Target | None, workload: str, executor: Executor
) -> list[Target]:
    """What `s` sweeps: the selected target plus the first GIL CPython, the first free-threaded one, rust.

    Kept in discovery order; rust only for the workloads it implements with the thread executor.
    """
    return _headline(targets, selected, workload, executor)[0]


def _headline(
    targets: Sequence[Target], selected: Target | None, workload: str, executor: Executor
) -> tuple[list[Target], list[tuple[str, str]]]:
    usable = [t for t in targets if t.available]
    picks: list[Target] = []
    if selected is not None and selected.available:
        picks.append(selected)
    gil = next((t for t in usable if t.gil_mode == "gil"), None)
    ft = next((t for t in usable if t.gil_mode == "free-threaded"), None)
    native = next((t for t in usable if t.is_native_baseline), None)
    for t in (gil, ft, native):
        if t is not None and t not in picks:
            picks.append(t)
    dropped: list[tuple[str, str]] = []
    kept: list[Target] = []
    for t in picks:
        why = unsupported(t.kind, workload, executor)
        if why is None:
            kept.append(t)
        else:
            dropped.append((t.id, why))
    order = {t.id: i for i, t in enumerate(targets)}
    return sorted(kept, key=lambda t: order.get(t.id, len(order))), dropped


def headline_sweep(
    targets: Sequence[Target],
    selected: Target | None,
    settings: RunSettings,
    cores: int,
    *,
    wide: bool = False,
) -> SweepChoice:
    """The sweep `s` (wide: `S`, up to 2x cores) starts for this selection, and what it leaves out."""
    kept, dropped = _headline(targets, selected, settings.workload, settings.executor)
    if not kept:
        return SweepChoice(None, tuple(dropped))
    top = max(1, cores)
    threads = tuple(range(1, top + 1)) + ((2 * top,) if wide else ())
    p = settings.preset
    plan = SweepPlan(
        settings.workload,
        tuple(kept),
        threads,
        repeat=1,
        size=p.size,
        executor=settings.executor,
        extra_args=settings.workload_args,
        switch_interval_s=settings.switch_interval_s,
    )
    return SweepChoice(plan, tuple(dropped))


class RunSession:
    """One run or sweep at a time: drives it, stops it, digests its updates and records it.

    With a calibrator, a sweep first finds each target's size (calibrate.calibrate_plan) through runs of
    its own, driven like any other run: the front end shows them, with run_note() saying what they are.
    """

    def __init__(
        self,
        start_run: Callable[[RunSpec], RunLike],
        listener: SessionListener,
        *,
        record_dir: Path | None = None,
        calibrate: Calibrator | None = None,
        machine: Callable[[], MachineFacts] | None = None,
    ) -> None:
        self._start_run = start_run
        """Makes the live run of a spec (the engine's Run, or a fake in tests)."""
        self._listener = listener
        """The front end told of pokes, sweep steps and notices, on the driving event loop."""
        self._record_dir = record_dir
        """Where runs are recorded (None: not recorded)."""
        self._calibrate = calibrate
        """Finds each sweep target's size before the first run (None: sweeps run at the plan's sizes)."""
        self._machine = machine
        """Reads the machine's facts before a sweep begins, for its warnings (None: not read)."""
        self.digester = RunDigester()
        """Every update of the runs driven, folded for the front end (it calls take())."""
        self.mode: SessionMode = "idle"
        """What is going: nothing, a single run, or a sweep."""
        self.stop_requested = False
        """The user asked the current run or sweep to stop."""
        self.sweep_counts: tuple[int, int] | None = None
        """(runs done, runs planned) of the sweep going (None outside a sweep)."""
        self.sweep_partial: SweepResult | None = None
        """The going sweep's aggregate so far (None outside a sweep)."""
        self._positions: dict[str, tuple[int, int]] = {}
        """Run id -> (its place in the sweep, runs planned), for the runs of the current sweep."""
        self._next_position: tuple[int, int] | None = None
        self.calibrating: str | None = None
        """What the going sweep is calibrating, e.g. 'calibrating py3.11 (sum_squares), 1 of 3'; else None."""
        self._run_notes: dict[str, str] = {}
        """Run id -> what the run is for, for runs that are not the work itself (calibration runs)."""
        self._calibration: asyncio.Task[PlanCalibration] | None = None
        self._run: RunLike | None = None
        self._recorder: Recorder | None = None
        self._tap: BackgroundTap | None = None

    @property
    def running(self) -> bool:
        """A run or a sweep is in progress."""
        return self.mode != "idle"

    @property
    def current_run(self) -> RunLike | None:
        """The run in flight (None between runs)."""
        return self._run

    # --- starting ------------------------------------------------------------------------------------

    # Each starter marks the session busy at once and returns the coroutine that drives the work: the
    # caller awaits it (the dashboard inside a Textual worker, tests directly). None: something is going.

    def run_spec(self, spec: RunSpec) -> Coroutine[Any, Any, RunResult | None] | None:
        """Begin one live run of `spec`."""
        return self.run(lambda: self._start_run(spec))

    def run(self, make_run: Callable[[], RunLike]) -> Coroutine[Any, Any, RunResult | None] | None:
        """Begin one run made by `make_run` (a live run or a replay)."""
        if self.running:
            return None
        self._begin("run")
        return self._single(make_run)

    def sweep(self, plan: SweepPlan) -> Coroutine[Any, Any, SweepResult | None] | None:
        """Begin a sweep."""
        if self.running:
            return None
        self._begin("sweep")
        self.sweep_counts = (0, 0)
        return self._sweep(plan)

    def _begin(self, mode: SessionMode) -> None:
        self.mode = mode
        self.stop_requested = False
        self.sweep_counts = None
        self.sweep_partial = None
        self._positions = {}
        self._next_position = None
        self._run_notes = {}
        self.calibrating = None

    def sweep_outcome(self, stopped: bool) -> str:
        """How the last sweep ended, e.g. 'sweep done (6/6 runs)' ('' when there was none)."""
        counts = self.sweep_counts
        if counts is None or not counts[1]:
            return ""
        return f"sweep {'stopped' if stopped else 'done'} ({counts[0]}/{counts[1]} runs)"

    def sweep_position(self, run_id: str) -> tuple[int, int] | None:
        """(this run's place in its sweep, runs planned); None for a run outside a sweep."""
        return self._positions.get(run_id)

    def run_note(self, run_id: str) -> str:
        """What a run of the current sweep is for when it is not the work itself ('' for the work)."""
        return self._run_notes.get(run_id, "")

    def stop(self) -> None:
        """Ask the run or sweep in progress to end (SIGTERM to its process group, SIGKILL after 2 s)."""
        if not self.running:
            return
        self.stop_requested = True
        if self._run is not None:
            self._run.stop()
        if self._calibration is not None:
            self._calibration.cancel()  # whatever the calibrator awaits, calibration ends with the sweep

    # --- driving -------------------------------------------------------------------------------------

    async def _single(self, make_run: Callable[[], RunLike]) -> RunResult | None:
        try:
            return await self._drive(make_run())
        finally:
            self._end()

    async def _sweep(self, plan: SweepPlan) -> SweepResult | None:
        from gildash.engine.sweep import plan_runs, run_sweep

        async def run_fn(spec: RunSpec) -> RunResult:
            done, total = self.sweep_counts or (0, 0)
            self._next_position = (done + 1, total)
            result = await self._drive(self._start_run(spec))
            if result is None:
                raise RuntimeError(f"run of {spec.target.id} ended without a result")
            return result

        final: SweepResult | None = None
        stopped = False
        self.sweep_counts = (0, len(plan_runs(plan)))
        try:
            # Read before calibration: the load average is then the least inflated by this sweep's own runs.
            facts = self._machine() if self._machine is not None else None
            fallbacks: tuple[tuple[str, str], ...] = ()
            if self._calibrate is not None:
                calibrated = await self._calibrate_plan(plan, self._calibrate)
                if calibrated is None:
                    stopped = True
                    return None
                plan, fallbacks = calibrated.plan, calibrated.fallbacks
            async for progress in run_sweep(plan, run_fn):
                if fallbacks or facts is not None:  # every partial carries them: the charts warn of them
                    partial = replace(progress.partial, size_fallbacks=fallbacks, machine=facts)
                    progress = replace(progress, partial=partial)
                final = progress.partial
                self.sweep_counts = (progress.done, progress.total)
                self.sweep_partial = progress.partial
                self._listener.session_sweep_step(progress)
                if self.stop_requested:
                    stopped = progress.done < progress.total
                    break
        except asyncio.CancelledError:
            stopped = True
            raise
        finally:
            self._end()
            self._listener.session_sweep_ended(final, stopped or self.stop_requested)
        return final

    async def _calibrate_plan(self, plan: SweepPlan, calibrator: Calibrator) -> PlanCalibration | None:
        """The plan with calibrated sizes; None when the user stopped the sweep during calibration."""
        if self.stop_requested:
            return None

        def on_target(spec: RunSpec, i: int, n: int) -> None:
            self.calibrating = f"calibrating {spec.target.id} ({spec.workload}), {i} of {n}"
            self._listener.session_poke()

        from gildash.engine.calibrate import calibrate_plan  # lazy: only a calibrating sweep needs it

        task = asyncio.ensure_future(calibrate_plan(plan, calibrator, self._size_run, on_target=on_target))
        self._calibration = task
        try:
            calibrated = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the sweep itself is cancelled, not just its calibration
            return None
        finally:
            self._calibration = None
            self.calibrating = None
        for target_id, why in calibrated.fallbacks:
            self._listener.session_notice(
                f"{target_id}: no size calibrated ({why}); sweeping it at the preset"
            )
        return calibrated

    def _size_run(self, spec: RunSpec) -> SizeRun:
        """A SizeRun of spec whose runs are this session's own (shown, recorded, stopped like the rest)."""

        async def run(size: int) -> float | None:
            made = self._start_run(replace(spec, size=size, threads=1, calibration=True))
            self._run_notes[made.run_id] = self.calibrating or "calibrating"
            result = await self._drive(made)
            return result.wall_s if result is not None and result.ok else None

        return run

    def _end(self) -> None:
        self.mode = "idle"
        self._run = None

    async def _drive(self, run: RunLike) -> RunResult | None:
        """Iterate one run's updates into the digester (and the recording); returns its result."""
        self._run = run
        if self.stop_requested:
            run.stop()
        tap = self._tap = self._open_tap(run)
        result: RunResult | None = None
        since_yield = 0
        digester = self.digester
        try:
            async for update in run.updates():
                if tap is not None:
                    tap(update)
                if isinstance(update, RunStarted) and self._next_position is not None:
                    self._positions[update.run_id] = self._next_position
                digester.add(update)
                if isinstance(update, RunStarted | RunFinished):
                    if isinstance(update, RunFinished):
                        result = update.result
                    # Start and end show at once; everything in between waits for the front end's frame.
                    self._listener.session_poke()
                since_yield += 1
                if since_yield >= YIELD_EVERY:
                    since_yield = 0  # a flood arrives without awaiting: let the front end breathe
                    await asyncio.sleep(0)
        finally:
            self._listener.session_poke()
            if tap is not None:
                # Drain the writer thread off the event loop: the recording gets every line, the UI waits not.
                await asyncio.to_thread(tap.close)
                if self._tap is tap:
                    self._tap = None
            if self._recorder is not None and self._recorder.error:
                self._listener.session_notice(self._recorder.error)
        return result

    def _open_tap(self, run: RunLike) -> BackgroundTap | None:
        if self._record_dir is None:
            return None
        if self._recorder is None:
            # Lazy: the dashboard creates its session before its first frame, and records only from a run.
            from gildash.engine.recording import Recorder, RecordingError

            stamp = time.strftime("%Y%m%dT%H%M%S")
            try:
                self._recorder = Recorder(self._record_dir / f"dashboard-{stamp}.jsonl")
            except RecordingError as exc:
                self._record_dir = None  # say it once, not at every run
                self._listener.session_notice(f"not recording: {exc}")
                return None
        return BackgroundTap(RunTap(self._recorder, run.run_id))

    def record_cores(self, sample: CoreSample) -> None:
        """The front end's own per-core sample, recorded with the run in flight (replays draw them)."""
        if self._run is not None and self._tap is not None:
            self._tap(sample)

    def close(self) -> None:
        """Last resort on exit: stop the run and let the writer finish before the file closes."""
        if self._run is not None:
            self._run.stop()
        if self._tap is not None:
            self._tap.close(timeout=2.0)
        if self._recorder is not None:
            self._recorder.close()
