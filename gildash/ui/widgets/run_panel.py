"""Run panel: the run on show (its own spec: target, workload, workers, size, executor), its progress and
how it ended, and apart from it what `r` would run next (the selection).

Pure view over one frozen RunPanelState the screen hands it; never reads the selection for the run line.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass, field, replace
from typing import Literal

from gildash.engine.catalog import variant_of
from gildash.engine.model import RunResult, RunSpec
from gildash.engine.words import executor_word, headline_text
from gildash.ui.widgets.lines import Line, LineWidget
from gildash.ui.widgets.log_view import CONTROLS

MAX_BARS = 8
"""Worker progress bars drawn; more workers are summarised in one line."""


RunPhase = Literal["idle", "running", "stopping", "finished", "stopped"]
"""Where the run on show is: none yet, going, asked to stop, ended, ended by the user."""


@dataclass(frozen=True)
class NextRun:
    """The selection: what `r` would run next."""

    target: str
    """Selected target id ('' before discovery)."""
    workload: str
    """Workload name."""
    threads: int
    """Worker count."""
    size: str
    """Size preset and what it means, e.g. 'medium (40M per thread)'."""
    executor: str
    """thread or process."""
    switch_s: float | None = None
    """The switch interval `r` would ask for (None: the interpreter's own)."""


def workload_label(workload: str, args: tuple[str, ...]) -> str:
    """'sum_squares', or 'contention (object, shared)' for a workload whose flags pick a variant."""
    variant = variant_of(workload, args)
    return f"{workload} ({variant})" if variant else workload


def fmt_switch(seconds: float) -> str:
    """0.005 -> '5 ms', 0.0005 -> '0.5 ms'."""
    return f"{seconds * 1000:g} ms"


@dataclass(frozen=True)
class RunView:
    """The run on show: its own spec (never the selection), where it is, and what it reported."""

    spec: RunSpec | None = None
    """What is (or was) running; None before the first run."""
    phase: RunPhase = "idle"
    """idle, running, stopping, finished or stopped."""
    elapsed: float | None = None
    """Seconds since it started (the run's own wall when over)."""
    progress: tuple[tuple[int, int, int], ...] = ()
    """(worker, done, total) per worker, by worker."""
    status: tuple[str, str] | None = None
    """(final status line, ok|failed) once it ended."""
    sweep: tuple[int, int] | None = None
    """(runs done, runs planned) while it is part of a sweep."""
    note: str = ""
    """One line about the last sweep ('sweep done (6/6 runs)'), cleared when the next run starts."""
    size_note: str = ""
    """What the run's size means (from the preset, or 'recorded')."""
    switch_s: float | None = None
    """The switch interval in force in the workload, as its start line reports it."""
    stalled_s: float | None = None
    """Seconds without output or CPU while the run is stalled (None: it is making progress)."""

    def with_progress(self, progress: dict[int, tuple[int, int]]) -> RunView:
        """The view with these workers' latest (done, total)."""
        merged = {w: (d, t) for w, d, t in self.progress}
        merged.update(progress)
        return replace(self, progress=tuple((w, d, t) for w, (d, t) in sorted(merged.items())))


@dataclass(frozen=True)
class RunPanelState:
    """Everything the run panel draws."""

    run: RunView = field(default_factory=RunView)
    """The run on show."""
    next: NextRun | None = None
    """The selection (None before discovery)."""


def _signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def status_line(result: RunResult) -> tuple[str, str]:
    """(one-line final status, kind ok|failed) for a finished run."""
    wall = result.wall_s if result.wall_s is not None else result.harness_wall_s
    parts: list[str]
    if result.status == "ok":
        parts = ["ok"]
    elif result.status == "crashed":
        how = (
            f"killed by {_signal_name(result.signal)}"
            if result.signal is not None
            else f"exit code {result.exit_code}"
        )
        # Exit 0 with an `error` line is still a failure; say what the workload reported.
        parts = [f"error reported: {result.message}" if result.exit_code == 0 else f"crashed: {how}"]
    elif result.status == "timeout":
        parts = ["timed out"]
    elif result.status == "stopped":
        parts = ["stopped"]
    else:
        parts = [f"{result.status}: {result.message}" if result.message else result.status]
    parts.append(f"wall {wall:.2f} s")
    if result.effective_cores is not None:
        parts.append(f"{result.effective_cores:.2f} cores")
    if result.malformed_lines:
        n = result.malformed_lines
        parts.append(f"{n} malformed line{'s' if n != 1 else ''}")
    if result.truncated_lines:
        n = result.truncated_lines
        parts.append(f"{n} truncated line{'s' if n != 1 else ''}")
    if not result.complete:
        parts.append("incomplete recording")
    headline = headline_text(result)
    if headline:
        parts.append(headline)
    if result.gil_reenabled:
        by = f" by module {result.gil_reenabled_by}" if result.gil_reenabled_by else " at run time"
        parts.append(f"GIL re-enabled{by}!")
    ok = result.status == "ok" and not result.gil_reenabled
    # Messages and module names come from the workload: never let its control characters reach the terminal.
    return " · ".join(parts).translate(CONTROLS), "ok" if ok else "failed"


def progress_bar(done: int, total: int, width: int) -> str:
    """A bar of `width` cells for done/total."""
    frac = 0.0 if total <= 0 else min(1.0, max(0.0, done / total))
    filled = round(frac * width)
    return "█" * filled + "░" * (width - filled)


class RunPanel(LineWidget):
    """The run on show (spec, state, per-worker progress, final status) and, apart, the selection."""

    COMPONENT_CLASSES = {"run--label", "run--value", "run--ok", "run--failed", "run--bar", "run--state"}
    PREFIX = "run"
    ELLIPSIS_OVERFLOW = True

    DEFAULT_CSS = """
    RunPanel { height: auto; }
    RunPanel > .run--label { color: $foreground 60%; }
    RunPanel > .run--value { color: $accent; text-style: bold; }
    RunPanel > .run--ok { color: $success; text-style: bold; }
    RunPanel > .run--failed { color: $error; text-style: bold; }
    RunPanel > .run--bar { color: $primary; }
    RunPanel > .run--state { color: $warning; text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.state = RunPanelState()
        """What the panel draws (replaced whole by show())."""

    def show(self, state: RunPanelState) -> None:
        """Draw this state (only the lines that change repaint)."""
        if state != self.state:
            self.state = state
            self.changed()

    @property
    def status_text(self) -> str:
        """The final status line ('' while running or before any run)."""
        status = self.state.run.status
        return status[0] if status else ""

    def _bar_width(self) -> int:
        return max(4, min(40, max(10, self.size.width) - 22))

    def _run_lines(self) -> list[Line]:
        view = self.state.run
        spec = view.spec
        if spec is None:
            return [(("run   ", "label"), ("none yet: r runs the selection, s sweeps it", "label")), ()]
        size = f"{spec.size:,}" if spec.size is not None else "default size"
        if view.size_note:
            size += f" ({view.size_note})"
        what: Line = (
            ("run   ", "label"),
            (spec.target.id, "value"),
            (" · ", "label"),
            # Who runs and how many come first: at 80 columns the line's tail is what gets cut.
            (executor_word(spec.executor, spec.threads), "value"),
            (" · ", "label"),
            (workload_label(spec.workload, spec.extra_args), "value"),
            (" · ", "label"),
            (size, "label"),
        )
        phase: str = view.phase
        if view.stalled_s is not None and phase in ("running", "stopping"):
            phase = f"stalled {view.stalled_s:.0f} s (no output, no CPU)"
        if view.sweep is not None:
            phase_text = f"{phase} · sweep {view.sweep[0]}/{view.sweep[1]}"
        else:
            phase_text = phase
        state: list[tuple[str, str]] = [
            ("      ", "label"),
            (phase_text, "state" if view.phase in ("running", "stopping") else "label"),
        ]
        if view.elapsed is not None:
            state.append((f" · {view.elapsed:.1f} s", "label"))
        if view.switch_s is not None:
            asked = " (asked)" if spec.switch_interval_s is not None else ""
            state.append((f" · switch interval {fmt_switch(view.switch_s)}{asked}", "label"))
        if view.note:
            state.append((f" · {view.note}", "label"))
        return [what, tuple(state)]

    def _next_line(self) -> Line:
        n = self.state.next
        if n is None:
            return (("next  ", "label"), ("discovering targets…", "label"))
        return (
            ("next  ", "label"),
            (n.target or "—", "label"),
            (" · ", "label"),
            (executor_word(n.executor, n.threads), "label"),
            *((((" · switch " + fmt_switch(n.switch_s)), "label"),) if n.switch_s is not None else ()),
            (" · ", "label"),
            (n.workload, "label"),
            (" · ", "label"),
            (n.size, "label"),
        )

    def build_lines(self) -> list[Line]:
        view = self.state.run
        lines: list[Line] = [self._next_line(), *self._run_lines()]
        bar_w = self._bar_width()
        workers = view.progress
        worker_word = "p" if view.spec is not None and view.spec.executor == "process" else "w"
        for worker, done, total in workers[:MAX_BARS]:
            pct = 0 if total <= 0 else 100 * done // total
            lines.append(
                (
                    (f"{worker_word}{worker:<3}", "label"),
                    (progress_bar(done, total, bar_w), "bar"),
                    (f" {pct:3d}%", ""),
                )
            )
        if len(workers) > MAX_BARS:
            rest = workers[MAX_BARS:]
            done = sum(d for _w, d, _t in rest)
            total = sum(t for _w, _d, t in rest)
            pct = 0 if total <= 0 else 100 * done // total
            lines.append(((f"+{len(rest)} more workers {pct:3d}%", "label"),))
        # Rows for the workers' bars and the final status, even while idle: they fill in place, so
        # starting, progressing and ending a run never re-lays out (or shifts) the screen.
        n = max(
            view.spec.threads if view.spec is not None else 0,
            self.state.next.threads if self.state.next is not None else 0,
        )
        reserved = 3 + (n if n <= MAX_BARS else MAX_BARS + 1) + 1
        lines.extend(() for _ in range(reserved - len(lines) - (1 if view.status else 0)))
        if view.status:
            line, kind = view.status
            lines.append(((line, kind),))
        return lines
