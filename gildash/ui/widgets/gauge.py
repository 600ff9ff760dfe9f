"""The big effective-cores gauge: "1.9 of 2 cores", large digits and a bar with one segment per core.

Live value from SampleTaken.effective_cores while a run goes, then the result's value at the end.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Digits, Static

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


class Gauge(Widget):
    """Effective cores now (or at the end) out of the machine's cores."""

    DEFAULT_CSS = """
    Gauge { height: auto; layout: vertical; }
    Gauge > Digits { width: auto; }
    Gauge > #gauge-caption { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, cores: int = 1, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._cores = max(1, cores)
        self._value: float | None = None
        self._final = False
        self._shown: tuple[object, ...] | None = None
        """(digits, caption, width) on screen: an unchanged gauge is not repainted."""

    @property
    def text(self) -> str:
        """The caption on show, e.g. '1.9 of 2 cores'."""
        return gauge_text(self._value, self._cores)

    @property
    def value(self) -> float | None:
        """Effective cores on show (None before any sample)."""
        return self._value

    def compose(self) -> ComposeResult:
        yield Digits(PLACEHOLDER, id="gauge-digits")
        yield Static(id="gauge-caption")

    def on_mount(self) -> None:
        self._update()

    def on_resize(self) -> None:
        self._update()

    def set_cores(self, cores: int) -> None:
        """The machine's core count (a replay may come from another machine)."""
        self._cores = max(1, cores)
        self._update()

    def set_value(self, value: float | None, *, final: bool = False) -> None:
        """Show a live (or, final=True, the run's measured) effective-cores value."""
        # A live sample over a short interval can overshoot the machine (2.1 of 2): no tree uses more cores.
        self._value = value if value is None or final else min(value, float(self._cores))
        self._final = final
        self._update()

    def _update(self) -> None:
        if not self.is_mounted:
            return
        digits = PLACEHOLDER if self._value is None else f"{self._value:.1f}"
        width = max(4, self.size.width - 1) if self.size.width else 20
        caption = Text(no_wrap=True, overflow="ellipsis")
        caption.append(gauge_bar(self._value, self._cores, min(width, 60)))
        caption.append("\n")
        caption.append(self.text, style="bold")
        suffix = " · measured" if self._final else " · live" if self._value is not None else ""
        if len(self.text) + len(suffix) <= width:
            caption.append(suffix)
        shown = (digits, caption.plain, self.size.width)
        if shown == self._shown:
            return  # samples arrive at 10 Hz; most change no cell of the gauge
        first = self._shown is None
        self._shown = shown
        self.query_one(Digits).update(digits)
        # The caption is always two lines: after the first, repaint it without re-laying out the screen.
        self.query_one("#gauge-caption", Static).update(caption, layout=first)
