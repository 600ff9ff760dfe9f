"""The big effective-cores gauge: "1.9 of 2 cores", large digits and a bar with one segment per core.

Both parts are line-cached (LineWidget): a tick that leaves the value's tenth alone repaints nothing.

Live value from ProcSample.effective_cores while a run goes, then the result's value at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.geometry import Size
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widget import Widget

from gildash.ui.widgets.lines import Line, LineWidget

PLACEHOLDER = "-.-"
"""Digits before any sample: as wide as "1.9", so the first value re-lays out nothing."""


def gauge_text(value: float | None, cores: int) -> str:
    """The gauge's caption, e.g. '1.9 of 2 cores' ('– of 2 cores' before any sample)."""
    shown = "–" if value is None else f"{value:.1f}"
    return f"{shown} of {cores} core{'s' if cores != 1 else ''}"


def gauge_bar(value: float | None, cores: int, width: int) -> str:
    """A bar of `width` cells spanning 0..cores, with a divider between cores."""
    if width <= 0:
        return ""
    cores = max(1, cores)
    filled = 0 if value is None else round(min(float(cores), max(0.0, value)) / cores * width)
    cells = []
    for i in range(width):
        # Divider every width/cores cells so "one core's worth" is visible at a glance.
        divider = i > 0 and (i * cores) // width != ((i - 1) * cores) // width
        if i < filled:
            cells.append("█")
        else:
            cells.append("│" if divider else "░")
    return "".join(cells)


def digit_rows(text: str) -> list[str]:
    """The three rows of `text` in Textual's 3x3 digit font."""
    rendered = DigitsRenderable(text).render(Style())
    rows = [seg.text for seg in rendered if isinstance(seg, Segment) and seg.text != "\n"]
    return rows[:3]


class GaugeDigits(LineWidget):
    """The value in large digits (its colour comes from the screen's CSS: GIL, free-threaded, native)."""

    DEFAULT_CSS = "GaugeDigits { width: auto; height: 3; }"

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = text

    def update(self, text: str) -> None:
        """Show another value; re-lays out only when the widget's width changes."""
        if text == self.text:
            return
        width = self.width_of(self.text)
        self.text = text
        if self.width_of(text) != width:
            self.refresh(layout=True)
        self.changed()

    def width_of(self, text: str) -> int:
        """Cells the widget is wide while it shows `text`."""
        return DigitsRenderable.get_width(text)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.width_of(self.text)

    def build_lines(self) -> list[Line]:
        return [((row, ""),) for row in digit_rows(self.text)]


class CaptionedDigits(GaugeDigits):
    """A figure in large digits with a caption under it ('94%' / 'overlap')."""

    DEFAULT_CSS = "CaptionedDigits { width: auto; height: 4; margin-left: 1; }"

    def __init__(self, caption: str, *, id: str | None = None) -> None:
        super().__init__("–", id=id)
        self.caption = caption

    def width_of(self, text: str) -> int:
        # The caption holds the width: most figures under it (12.3ms under 'median slice') move nothing.
        return max(len(self.caption), super().width_of(text))

    def build_lines(self) -> list[Line]:
        return [*super().build_lines(), ((self.caption, ""),)]

    def set(self, text: str, caption: str | None = None) -> None:
        """Show this figure (and caption); re-lays out only when the width changes."""
        if caption is not None and caption != self.caption:
            width = self.width_of(self.text)
            self.caption = caption
            if self.width_of(self.text) != width:
                self.refresh(layout=True)
            self.changed()
        self.update(text)


class GaugeCaption(LineWidget):
    """The bar (one segment per core) and "1.9 of 2 cores · live" under the digits."""

    COMPONENT_CLASSES = {"caption--value"}
    PREFIX = "caption"
    ELLIPSIS_OVERFLOW = True
    DEFAULT_CSS = """
    GaugeCaption { height: 3; }
    GaugeCaption > .caption--value { text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.value: float | None = None
        self.cores = 1
        self.final = False
        self.rate = ""

    def build_lines(self) -> list[Line]:
        width = max(4, self.size.width) if self.size.width else 20
        text = gauge_text(self.value, self.cores)
        suffix = " · measured" if self.final else " · live" if self.value is not None else ""
        caption: Line = ((text, "value"),)
        if len(text) + len(suffix) <= width:
            caption += ((suffix, ""),)
        # The work rate beside the CPU: "2 cores busy" and "1x the work" can both be true (contention).
        return [((gauge_bar(self.value, self.cores, min(width, 60)), ""),), caption, ((self.rate, ""),)]


@dataclass(frozen=True)
class GaugeState:
    """What the gauge shows."""

    value: float | None = None
    """Effective cores (None before any sample)."""
    cores: int = 1
    """Cores of the machine the run is on."""
    final: bool = False
    """The run's measured value (else a live sample)."""
    rate: str = ""
    """The work rate the workers report, e.g. 'work 9.8M items/s' ('' when unknown)."""

    @classmethod
    def live(cls, value: float | None, cores: int, rate: str = "") -> GaugeState:
        """A live sample, clamped to the machine: a short interval can overshoot (2.1 of 2), no tree can."""
        return cls(value if value is None else min(value, float(max(1, cores))), max(1, cores), False, rate)


class Gauge(Widget):
    """Effective cores now (or at the end) out of the machine's cores; draws one GaugeState."""

    DEFAULT_CSS = """
    Gauge { height: auto; layout: vertical; }
    """

    def __init__(self, cores: int = 1, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.state = GaugeState(cores=max(1, cores))
        """What is on show (replaced whole by show())."""

    @property
    def text(self) -> str:
        """The caption on show, e.g. '1.9 of 2 cores'."""
        return gauge_text(self.state.value, self.state.cores)

    @property
    def value(self) -> float | None:
        """Effective cores on show (None before any sample)."""
        return self.state.value

    def compose(self) -> ComposeResult:
        yield GaugeDigits(PLACEHOLDER, id="gauge-digits")
        yield GaugeCaption(id="gauge-caption")

    def on_resize(self) -> None:
        self._update()  # the first size arrives after mount (is_mounted is still False in on_mount)

    def show(self, state: GaugeState) -> None:
        """Draw this state (only what changes repaints)."""
        if state != self.state:
            self.state = state
            self._update()

    def _update(self) -> None:
        if not self.is_mounted:
            return
        value = self.state.value
        self.query_one(GaugeDigits).update(PLACEHOLDER if value is None else f"{value:.1f}")
        caption = self.query_one(GaugeCaption)
        caption.value, caption.cores, caption.final = value, self.state.cores, self.state.final
        caption.rate = self.state.rate
        caption.changed()


def fmt_rate(per_s: float, unit: str) -> str:
    """'work 9.8M items/s'."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_s >= scale:
            return f"work {per_s / scale:.3g}{suffix} {unit}/s"
    return f"work {per_s:.3g} {unit}/s"
