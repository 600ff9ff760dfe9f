"""The millisecond timeline: one row per worker over the last N ms, on-CPU slices solid, off-CPU empty.

Under the GIL the rows interlock like a zipper (one worker on the CPU at a time, one switch interval
each); on free-threaded CPython or Rust they run solid side by side. Beside the rows, in large type, the
window's parallel overlap and median slice. Draws one frozen TimelineState; never computes figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult

from gildash.engine.model import Span, Timeline
from gildash.ui.widgets.gauge import CaptionedDigits
from gildash.ui.widgets.lines import Line, LineWidget, StateWidget

ZOOMS_S: tuple[float, ...] = (0.05, 0.2, 2.0)
"""Window widths `t` cycles through: 50 ms shows single switch intervals, 2 s the run's rhythm."""
MAX_ROWS = 8
"""Worker rows drawn; more are summarised in one line."""


@dataclass(frozen=True)
class TimelineState:
    """What the timeline panel draws."""

    window: Timeline | None = None
    """The spans of the last `span_s` seconds of the run on show (None: no timeline)."""
    span_s: float = ZOOMS_S[1]
    """Seconds across the panel."""
    overlap: float | None = None
    """Share 0..1 of the window with two or more workers on the CPU."""
    median_slice_ms: float | None = None
    """Median on-CPU slice in the window, milliseconds."""
    processes: bool = False
    """The workers are processes (rows labelled P1, P2)."""
    reason: str = "one row per worker, during a run"
    """What the panel says when there is no window."""
    workers: int = 0
    """Workers of the run on show (0: none): rows kept for them before its first slices arrive."""


def row_count(workers: int) -> int:
    """Lines drawn for this many workers: a row each (MAX_ROWS at most, then a summary), a caption."""
    return min(workers, MAX_ROWS) + (workers > MAX_ROWS) + 1


def fmt_span(seconds: float) -> str:
    """0.05 -> '50 ms', 2.0 -> '2 s'."""
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


def binned(spans: Sequence[Span], lo: float, hi: float, bins: int) -> list[float]:
    """Share 0..1 of each of `bins` equal parts of [lo, hi) that `spans` cover (one pass over spans)."""
    out = [0.0] * bins
    if bins <= 0 or hi <= lo:
        return out
    step = (hi - lo) / bins
    for a, b in spans:
        a, b = max(a, lo), min(b, hi)
        if b <= a:
            continue
        first, last = int((a - lo) / step), min(bins - 1, int((b - lo) / step))
        for i in range(first, last + 1):
            left = lo + i * step
            out[i] += max(0.0, min(b, left + step) - max(a, left)) / step
    return out


def row_cells(slices: Sequence[Span], blocked: Sequence[Span], lo: float, hi: float, width: int) -> str:
    """One worker's row: each cell split in two halves; a half mostly on the CPU is drawn solid.

    '█' both halves on the CPU, '▌' / '▐' one half, '░' a little, '·' blocked on purpose (I/O, queue,
    sleep: not waiting for the GIL), ' ' off the CPU.
    """
    if width <= 0 or hi <= lo:
        return ""
    halves = binned(slices, lo, hi, 2 * width)
    waits = binned(blocked, lo, hi, width)
    cells = []
    for i in range(width):
        left, right = halves[2 * i] >= 0.5, halves[2 * i + 1] >= 0.5
        if left and right:
            cells.append("█")
        elif left:
            cells.append("▌")
        elif right:
            cells.append("▐")
        elif halves[2 * i] + halves[2 * i + 1] > 0.1:
            cells.append("░")
        elif waits[i] >= 0.5:
            cells.append("·")
        else:
            cells.append(" ")
    return "".join(cells)


class TimelineRows(LineWidget):
    """The rows of the timeline (plus its caption line); draws one TimelineState."""

    COMPONENT_CLASSES = {"timeline--label", "timeline--on", "timeline--caption"}
    PREFIX = "timeline"
    ELLIPSIS_OVERFLOW = True

    DEFAULT_CSS = """
    TimelineRows { width: 1fr; height: auto; }
    TimelineRows > .timeline--label { color: $foreground 60%; }
    TimelineRows > .timeline--on { color: $success; }
    TimelineRows > .timeline--caption { color: $foreground 60%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = TimelineState()
        """What is on show (replaced whole by show())."""

    def show(self, state: TimelineState) -> None:
        """Draw this state (only the rows that change repaint)."""
        if state != self.state:
            self.state = state
            self.changed()

    def build_lines(self) -> list[Line]:
        state, window = self.state, self.state.window
        if window is None or not window.tracks or window.end is None or window.start is None:
            # As tall as the run's rows will be: a height change at every run's start is a layout pass.
            blank: Line = (("", ""),)
            return [((state.reason, "label"),)] + [blank] * (row_count(state.workers) - 1)
        label_w = 4
        width = max(1, self.size.width - label_w)
        lines: list[Line] = []
        prefix = "p" if state.processes else "w"  # the workers, numbered as the run panel numbers them
        for track in window.tracks[:MAX_ROWS]:
            cells = row_cells(track.slices, track.blocked, window.start, window.end, width)
            lines.append(((f"{prefix}{track.worker}".ljust(label_w), "label"), (cells, "on")))
        if len(window.tracks) > MAX_ROWS:
            lines.append(((f"+{len(window.tracks) - MAX_ROWS} more workers", "label"),))
        overlap = "–" if state.overlap is None else f"{100 * state.overlap:.0f}%"
        ms = "–" if state.median_slice_ms is None else f"{state.median_slice_ms:.1f} ms"
        caption = f"overlap {overlap} · median slice {ms} · {fmt_span(state.span_s)} across (t) · █ on CPU"
        lines.append(((caption, "caption"),))
        return lines


class TimelineFigures(StateWidget[TimelineState]):
    """The window's overlap and median slice in large type (beside the gauge, where the lanes were)."""

    DEFAULT_CSS = """
    TimelineFigures { height: auto; width: auto; layout: horizontal; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(TimelineState(), id=id)

    def compose(self) -> ComposeResult:
        yield CaptionedDigits("overlap", id="timeline-overlap")
        yield CaptionedDigits("median slice", id="timeline-slice")

    def draw(self) -> None:
        state = self.state
        overlap = "–" if state.overlap is None else f"{100 * state.overlap:.0f}%"
        ms = state.median_slice_ms
        self.query_one("#timeline-overlap", CaptionedDigits).set(overlap)
        slice_text = "–" if ms is None else (f"{ms:.1f}ms" if ms < 100 else f"{ms:.0f}ms")
        self.query_one("#timeline-slice", CaptionedDigits).set(slice_text)

    @property
    def plain_text(self) -> str:
        """The figures as plain text (tests, screen readers)."""
        figures = [self.query_one(s, CaptionedDigits) for s in ("#timeline-overlap", "#timeline-slice")]
        return " · ".join(f"{f.caption} {f.text}" for f in figures)
