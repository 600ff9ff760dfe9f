"""Run panel: what will run (workload, threads, size, executor), what is running, and how it ended.

Pure view over values the screen sets; per-worker progress bars come from ProgressEvents.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass

from gildash.engine.model import RunResult
from gildash.ui.widgets.lines import Line, LineWidget
from gildash.ui.widgets.log_view import CONTROLS

MAX_BARS = 8
"""Worker progress bars drawn; more workers are summarised in one line."""


@dataclass(frozen=True)
class RunConfig:
    """The run the panel describes."""

    workload: str
    """Workload name."""
    threads: int
    """Worker count."""
    size_name: str
    """small, medium or large."""
    size_note: str
    """What the size means."""
    executor: str
    """thread or process."""
    target: str
    """Selected target id ('' before discovery)."""


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
    """Configuration line, state line, per-worker progress and the final status of the current run.

    The screen sets its public attributes (state, sweep, extra) and calls `changed()` to repaint.
    """

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
        self.config = RunConfig("sum_squares", 2, "small", "", "thread", "")
        self.state = "idle"
        """idle, running, stopping, or finished."""
        self.elapsed: float | None = None
        self.sweep: tuple[int, int] | None = None
        self.progress: dict[int, tuple[int, int]] = {}
        self.status: tuple[str, str] | None = None
        self.extra = ""

    def set_config(self, config: RunConfig) -> None:
        """What the next run will be."""
        self.config = config
        self.changed()

    def start(self) -> None:
        """A run began: clear progress and status."""
        self.state = "running"
        self.progress = {}
        self.status = None
        self.elapsed = 0.0
        self.changed()

    def set_progress(self, worker: int, done: int, total: int) -> None:
        """One worker's progress."""
        self.update_progress({worker: (done, total)})

    def update_progress(self, progress: dict[int, tuple[int, int]]) -> None:
        """Several workers' latest progress; repaints only the bars whose cells change."""
        self.progress.update(progress)
        self.changed()

    def set_elapsed(self, elapsed: float) -> None:
        """Seconds since the run started; repaints only when the shown tenths change."""
        self.elapsed = elapsed
        self.changed()

    def _bar_width(self) -> int:
        return max(4, min(40, max(10, self.size.width) - 22))

    def finish(self, result: RunResult) -> None:
        """The run ended: show its status line."""
        self.state = "finished"
        self.status = status_line(result)
        self.elapsed = result.harness_wall_s
        self.changed()

    @property
    def status_text(self) -> str:
        """The final status line ('' while running or before any run)."""
        return self.status[0] if self.status else ""

    def build_lines(self) -> list[Line]:
        c = self.config
        size = f"{c.size_name} ({c.size_note})" if c.size_note else c.size_name
        config: Line = (
            ("workload ", "label"),
            (c.workload, "value"),
            ("  threads ", "label"),
            (str(c.threads), "value"),
            ("  size ", "label"),
            (size, "value"),
            ("  executor ", "label"),
            (c.executor + "s", "value"),
        )
        state = self.state
        if self.sweep is not None:
            state = f"{state} · sweep {self.sweep[0]}/{self.sweep[1]}"
        status: list[tuple[str, str]] = [
            (state, "state" if self.state in ("running", "stopping") else "label")
        ]
        if self.elapsed is not None:
            status.append((f" · {self.elapsed:.1f} s", "label"))
        if c.target:
            status.append((f" · target {c.target}", "label"))
        if self.extra:
            status.append((f" · {self.extra}", "label"))
        lines: list[Line] = [config, tuple(status)]
        workers = sorted(self.progress.items())
        bar_w = self._bar_width()
        for worker, (done, total) in workers[:MAX_BARS]:
            pct = 0 if total <= 0 else 100 * done // total
            lines.append(
                ((f"w{worker:<3}", "label"), (progress_bar(done, total, bar_w), "bar"), (f" {pct:3d}%", ""))
            )
        if len(workers) > MAX_BARS:
            rest = workers[MAX_BARS:]
            done = sum(d for _w, (d, _t) in rest)
            total = sum(t for _w, (_d, t) in rest)
            pct = 0 if total <= 0 else 100 * done // total
            lines.append(((f"+{len(rest)} more workers {pct:3d}%", "label"),))
        # Rows for the configured workers' bars and the final status, even while idle: they fill in place,
        # so starting, progressing and ending a run never re-lays out (or shifts) the screen.
        n = c.threads
        reserved = 2 + (n if n <= MAX_BARS else MAX_BARS + 1) + 1
        lines.extend(() for _ in range(reserved - len(lines) - (1 if self.status else 0)))
        if self.status:
            line, kind = self.status
            lines.append(((line, kind),))
        return lines
