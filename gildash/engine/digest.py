"""Folds a run's update stream into what a screen can show, so a UI repaints at its own pace (no textual).

The run worker feeds every update to a RunDigester (cheap: no widgets, no rendering); the screen takes
the accumulated RunDigests at most a few times a second. What is kept: the latest progress per worker,
every process/core sample (a few per second), counts, and only the newest log lines that can be on
screen; the rest of a flood is counted, never silently lost (the recording holds every line).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from gildash.engine.model import (
    CoreSample,
    ErrorEvent,
    EventReceived,
    MalformedLine,
    ProcSample,
    ProgressEvent,
    ProtocolEvent,
    RunFinished,
    RunStarted,
    RunUpdate,
    SlicesEvent,
    StallChanged,
    StartEvent,
    StderrReceived,
    SummaryEvent,
    WorkerDoneEvent,
)
from gildash.engine.words import executor_word

LineKind = Literal["out", "err", "bad", "note"]
"""A log line's kind: workload stdout, stderr, a malformed line, or a note of gildash's own."""

MAX_LINES = 200
"""Log lines kept per digest: more than any terminal shows at once; older ones are only counted."""


@dataclass
class RunDigest:
    """What happened in one run since the screen last looked (never spans two runs)."""

    started: RunStarted | None = None
    """The run's start, when it is in this digest (always its first update)."""
    lines: deque[tuple[LineKind, str]] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    """The newest raw log lines (kind, text), oldest first: every stdout line as the workload wrote it."""
    skipped: int = 0
    """Log lines that arrived but fell out of `lines` (not shown on screen)."""
    milestones: deque[tuple[LineKind, str]] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    """The readable log: start, each worker done, the summary, errors, stderr and malformed lines."""
    milestones_skipped: int = 0
    """Readable lines that fell out of `milestones` (a flood of malformed lines)."""
    progress: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Latest (done, total) per worker."""
    progress_t: float | None = None
    """Workload time of the latest progress line (work rate = units done / this)."""
    samples: list[ProcSample] = field(default_factory=list)
    """Process-tree samples in order (the lanes keep a history of them)."""
    core_samples: list[CoreSample] = field(default_factory=list)
    """Recorded per-core samples in order (replays draw them; live mode samples cores itself)."""
    cpu_count: int | None = None
    """The machine's core count from the workload's start line."""
    start_event: StartEvent | None = None
    """The workload's start line, when it is in this digest (says whether workers time themselves)."""
    slices: list[SlicesEvent] = field(default_factory=list)
    """The workers' on-CPU slices batches, in arrival order (the timeline panel folds them in)."""
    stall: StallChanged | None = None
    """The latest stall change in this digest (stalled, or moving again)."""
    finished: RunFinished | None = None
    """The run's end, when it is in this digest (always its last update)."""
    updates: int = 0
    """Updates folded into this digest."""

    def add_line(self, kind: LineKind, text: str, *, milestone: bool = True) -> None:
        """Keep a raw log line (and, unless milestone=False, the same line in the readable log)."""
        if len(self.lines) == self.lines.maxlen:
            self.skipped += 1
        self.lines.append((kind, text))
        if milestone:
            self.add_milestone(kind, text)

    def add_milestone(self, kind: LineKind, text: str) -> None:
        """Keep a readable log line, counting the one it pushes out."""
        if len(self.milestones) == self.milestones.maxlen:
            self.milestones_skipped += 1
        self.milestones.append((kind, text))


def milestone(event: ProtocolEvent) -> str | None:
    """The readable log line of an event worth a line (None: progress, slices and the like)."""
    if isinstance(event, StartEvent):
        threads = event.params.get("threads")
        executor = event.params.get("executor", "thread")
        workers = executor_word(executor, threads) if isinstance(threads, int) else executor_word(executor)
        gil = "" if event.gil_enabled is None else f" · GIL {'on' if event.gil_enabled else 'off'}"
        build = " free-threaded build" if event.free_threaded else ""
        return f"start · {event.workload} · {workers} · {event.implementation} {event.version}{build}{gil}"
    if isinstance(event, WorkerDoneEvent):
        cpu = f" · cpu {event.cpu_s:.3f} s" if event.cpu_s is not None else ""
        return f"worker {event.worker} done in {event.duration_s:.3f} s{cpu}"
    if isinstance(event, SummaryEvent):
        check = "result ok" if event.ok else "result check FAILED"
        cpu = f" · cpu {event.cpu_s:.2f} s" if event.cpu_s is not None else ""
        gil = "" if event.gil_enabled is None else f" · GIL {'on' if event.gil_enabled else 'off'} at the end"
        return f"summary · wall {event.wall_s:.3f} s{cpu} · {check}{gil}"
    return None


class RunDigester:
    """Accumulates updates into RunDigests; take() hands over what arrived since the previous take()."""

    def __init__(self) -> None:
        self._done: list[RunDigest] = []
        self._current = RunDigest()

    @property
    def pending(self) -> bool:
        """Something arrived since the last take()."""
        return bool(self._done) or self._current.updates > 0

    def add(self, update: RunUpdate) -> None:
        """Fold one update in."""
        d = self._current
        if type(update) is EventReceived and type(update.event) is ProgressEvent:
            # The hot case (a flood is nearly all progress lines): the branches below, inlined.
            progress = update.event
            d.updates += 1
            lines = d.lines
            if len(lines) == MAX_LINES:
                d.skipped += 1
            lines.append(("out", update.raw))
            d.progress[progress.worker] = (progress.done, progress.total)
            d.progress_t = progress.t
            return
        if isinstance(update, RunStarted) and d.updates:
            self._done.append(d)  # a new run (sweeps): never mix two runs in one digest
            d = self._current = RunDigest()
        d.updates += 1
        if isinstance(update, EventReceived):
            event = update.event
            malformed = isinstance(event, MalformedLine)
            d.add_line("bad" if malformed else "out", update.raw, milestone=malformed)
            readable = milestone(event)
            if readable is not None:
                d.add_milestone("out", readable)
            if isinstance(event, ProgressEvent):
                d.progress[event.worker] = (event.done, event.total)
                d.progress_t = event.t
            elif isinstance(event, SlicesEvent):
                d.slices.append(event)
            elif isinstance(event, StartEvent):
                d.start_event = event
                if event.cpu_count:
                    d.cpu_count = event.cpu_count
            elif isinstance(event, ErrorEvent):
                d.add_line("bad", f"workload error: {event.message}")
        elif isinstance(update, StderrReceived):
            d.add_line("err", update.line)
        elif isinstance(update, ProcSample):
            d.samples.append(update)
        elif isinstance(update, CoreSample):
            d.core_samples.append(update)
        elif isinstance(update, StallChanged):
            d.stall = update
            if update.stalled:
                d.add_line("note", f"stalled: no output and no CPU for {update.idle_s:.0f} s")
        elif isinstance(update, RunStarted):
            d.started = update
        elif isinstance(update, RunFinished):
            d.finished = update
            self._done.append(d)
            self._current = RunDigest()

    def take(self) -> list[RunDigest]:
        """The digests accumulated since the last call, oldest first (empty when nothing arrived)."""
        out = self._done
        if self._current.updates:
            out.append(self._current)
            self._current = RunDigest()
        self._done = []
        return out
