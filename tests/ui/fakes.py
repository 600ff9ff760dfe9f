"""Fake data sources for the dashboard tests: scripted runs, fixed core samples, a frozen clock.

Nothing here spawns a process: a FakeRun yields RunUpdates shaped like the engine's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from gildash.engine.model import (
    CoreSample,
    EventReceived,
    MalformedLine,
    ProcSample,
    ProgressEvent,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunStatus,
    RunUpdate,
    SlicesEvent,
    StartEvent,
    StderrReceived,
    SummaryEvent,
    Target,
    TimelineSpec,
)
from gildash.ui.sources import Sources

PY311 = Target(
    "py3.11", "CPython 3.11.2", "/usr/bin/python3.11", "python", "3.11.2", "cpython", source="current"
)
PY313T = Target(
    "py3.13t", "CPython 3.13.5 free-threaded", "/opt/py/bin/python3.13t", "python", "3.13.5", "cpython",
    free_threaded=True, gil_enabled=False,
)  # fmt: skip
PY313T_GIL = Target(
    "py3.13t+gil", "CPython 3.13.5 free-threaded (GIL forced on)", "/opt/py/bin/python3.13t", "python",
    "3.13.5", "cpython", free_threaded=True, gil_enabled=True, env=(("PYTHON_GIL", "1"),),
)  # fmt: skip
RUST = Target("rust", "Rust std::thread", "/opt/rust_cpu_bench", "rust", "1.75", "rust")
PYPY = Target("pypy3.10", "PyPy 3.10", "", "python", available=False, reason="not found on PATH")
TARGETS = [PY311, PY313T, PY313T_GIL, RUST, PYPY]

CORES = 2
FROZEN_T = 1000.0


def profile(target: Target) -> tuple[float, float]:
    """(per-lane utilization, effective cores) a target shows at 2 threads on 2 cores."""
    if target.free_threaded and not target.gil_enabled:
        return 1.0, 1.95
    if target.kind == "rust":
        return 1.0, 1.99
    return 0.5, 1.0


def make_result(
    spec: RunSpec,
    run_id: str,
    *,
    status: RunStatus = "ok",
    effective: float | None = 1.0,
    wall: float | None = 1.25,
    malformed: int = 0,
    gil_reenabled_by: str | None = None,
    exit_code: int | None = 0,
) -> RunResult:
    """A RunResult as the runner would report it."""
    return RunResult(
        run_id=run_id,
        workload=spec.workload,
        target=spec.target,
        threads=spec.threads,
        size=spec.size,
        executor=spec.executor,
        calibration=spec.calibration,  # as the engine's result carries its spec's marks
        scaling="weak",
        status=status,
        wall_s=wall,
        harness_wall_s=(wall or 0.0) + 0.05,
        cpu_user_s=None if wall is None or effective is None else wall * effective,
        cpu_sys_s=0.0,
        effective_cores=effective,
        ok=status == "ok",
        exit_code=exit_code,
        signal=None,
        noisy=False,
        gil_enabled_start=spec.target.gil_enabled,
        gil_enabled_end=True if gil_reenabled_by else spec.target.gil_enabled,
        gil_reenabled=gil_reenabled_by is not None,
        gil_reenabled_by=gil_reenabled_by,
        malformed_lines=malformed,
        truncated_lines=0,
        stderr_tail="",
        message="" if status == "ok" else f"run {status}",
        started_at=1_700_000_000.0,
    )


def _line(obj: dict[str, object]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def slices_updates(spec: RunSpec, until: float = 0.6, turn: float = 0.005) -> list[RunUpdate]:
    """The workers' slices: under a GIL they take turns of `turn` s (a zipper), else all run throughout."""
    out: list[RunUpdate] = []
    threads = spec.threads
    parallel = profile(spec.target)[0] == 1.0
    for w in range(threads):
        if parallel:
            spans: tuple[tuple[float, float], ...] = ((0.01, until),)
        else:
            n = int((until - 0.01) / turn)
            spans = tuple((0.01 + i * turn, 0.01 + (i + 1) * turn) for i in range(n) if i % threads == w)
        event = SlicesEvent(until, w, spans, ())
        raw = {"event": "slices", "t": until, "worker": w, "slices": [list(x) for x in spans], "blocked": []}
        out.append(EventReceived(until, event, _line(raw)))
    return out


def scripted_updates(
    spec: RunSpec, run_id: str, *, samples: int = 6, malformed: int = 0, timed: bool = False
) -> list[RunUpdate]:
    """A normal run's updates: start, progress, lane samples, core samples, summary, result (and, timed,
    the workers' slices: a GIL zipper or side-by-side rows)."""
    util, effective = profile(spec.target)
    threads = spec.threads
    timeline = TimelineSpec(0.0003, 0.25, 1000, "iterations") if timed else None
    start = StartEvent(
        0.01, spec.workload, {"threads": threads, "size": spec.size, "executor": spec.executor}, "weak", 4242,
        spec.target.implementation, spec.target.version, spec.target.executable, spec.target.free_threaded,
        spec.target.gil_enabled, CORES, timeline=timeline,
    )  # fmt: skip
    out: list[RunUpdate] = [
        RunStarted(run_id, spec, 4242, (spec.target.executable or "x", "-u", f"{spec.workload}.py"), False),
        EventReceived(0.01, start, _line({"event": "start", "t": 0.01})),
    ]
    for i in range(samples):
        t = 0.1 * (i + 1)
        for w in range(threads):
            done = (i + 1) * 100 // samples
            out.append(
                EventReceived(t, ProgressEvent(t, w, done, 100), _line({"event": "progress", "worker": w}))
            )
        out.append(
            ProcSample(
                t, effective, tuple(util for _ in range(threads)), tuple(range(100, 100 + threads)), 1, 1
            )
        )
        out.append(CoreSample(t, (60.0, 40.0)))
    if timed:
        out.extend(slices_updates(spec))
    for _ in range(malformed):
        out.append(EventReceived(0.7, MalformedLine("not json {", "invalid JSON"), "not json {"))
    out.append(StderrReceived(0.7, "a line on stderr"))
    summary = SummaryEvent(0.8, 1.25, 1.3, None, None, None, True, 42, spec.target.gil_enabled, False)
    out.append(EventReceived(0.8, summary, _line({"event": "summary", "t": 0.8})))
    out.append(RunFinished(make_result(spec, run_id, effective=effective, malformed=malformed)))
    return out


class FakeRun:
    """A run that yields scripted updates; `hold` keeps it running until stop() is called."""

    def __init__(
        self, spec: RunSpec, run_id: str, updates: list[RunUpdate], *, delay: float = 0.0, hold: bool = False
    ) -> None:
        self.spec = spec
        self.run_id = run_id
        self._updates = updates
        self._delay = delay
        self._hold = hold
        self.stopped = False
        self.finished = False
        self._stop_event: asyncio.Event | None = None

    def replace_result(self, result: RunResult) -> None:
        """Finish with this result instead of the scripted one."""
        self._updates = [u for u in self._updates if not isinstance(u, RunFinished)] + [RunFinished(result)]

    def stop(self) -> None:
        self.stopped = True
        if self._stop_event is not None:
            self._stop_event.set()

    async def updates(self) -> AsyncIterator[RunUpdate]:
        self._stop_event = asyncio.Event()
        if self.stopped:
            self._stop_event.set()
        body = [u for u in self._updates if not isinstance(u, RunFinished)]
        final = next(u for u in self._updates if isinstance(u, RunFinished))
        try:
            for update in body:
                if self.stopped:
                    break
                yield update
                if self._delay:
                    await asyncio.sleep(self._delay)
            if self._hold and not self.stopped:
                await self._stop_event.wait()
            if self.stopped:
                result = make_result(self.spec, self.run_id, status="stopped", wall=None, effective=None)
                yield RunFinished(result)
            else:
                yield final
        finally:
            self.finished = True


@dataclass
class FakeEngine:
    """Builds FakeRuns and remembers them; tweak the knobs before pressing keys."""

    hold: bool = False
    delay: float = 0.0
    flood: int = 0
    malformed: int = 0
    timed: bool = False
    runs: list[FakeRun] = field(default_factory=list)

    def start_run(self, spec: RunSpec) -> FakeRun:
        run_id = f"fake-{len(self.runs) + 1}"
        updates = scripted_updates(spec, run_id, malformed=self.malformed, timed=self.timed)
        if self.flood:
            lines: list[RunUpdate] = [
                EventReceived(0.5, MalformedLine(f"flood {i}", "invalid JSON"), f"flood {i}")
                for i in range(self.flood)
            ]
            updates = updates[:2] + lines + updates[2:]
        run = FakeRun(spec, run_id, updates, delay=self.delay, hold=self.hold)
        self.runs.append(run)
        return run


def fixed_cores(percent: tuple[float, ...] = (35.0, 70.0)) -> Callable[[], CoreSample]:
    """A core sampler that always reports the same load."""
    return lambda: CoreSample(FROZEN_T, percent)


def fake_sources(engine: FakeEngine, targets: list[Target] | None = None, *, cores: int = CORES) -> Sources:
    """Sources over a FakeEngine with a frozen clock."""
    chosen = list(TARGETS if targets is None else targets)
    return Sources(
        targets=lambda: list(chosen),
        start_run=engine.start_run,
        core_sampler=fixed_cores(tuple(35.0 for _ in range(cores)) if cores != CORES else (35.0, 70.0)),
        cpu_count=cores,
        clock=lambda: FROZEN_T,
        record_dir=None,
    )
