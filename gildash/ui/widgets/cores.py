"""Per-core CPU panel: one row per logical CPU (bar, percent, history strip), a heat-map grid when many.

Owns its history (a deque per core, >= 60 s at 4 Hz); fed with percent tuples, never samples itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

HISTORY = 256
"""Samples kept per core: 64 s at the 4 Hz default."""
SPARK = " ▁▂▃▄▅▆▇█"
"""Sparkline glyphs from idle to full."""
BAR_WIDTH = 12
"""Cells of each core's bar in list mode."""
LEVELS = ("idle", "low", "mid", "high")
MAX_CHART_ROWS = 6
"""Rows of one core's history chart at most."""
"""Load levels, each a component class so themes colour them."""


def level(percent: float) -> str:
    """The load level name of a percentage."""
    if percent < 5:
        return "idle"
    if percent < 40:
        return "low"
    if percent < 80:
        return "mid"
    return "high"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last `width` percentages as sparkline glyphs, padded on the left."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    glyphs = "".join(SPARK[min(len(SPARK) - 1, max(0, round(v / 100 * (len(SPARK) - 1))))] for v in tail)
    return glyphs.rjust(width)


def chart_row(values: Sequence[float], width: int, rows: int, row: int) -> str:
    """Row `row` (0 = top) of a `rows`-tall bar chart of the last `width` percentages."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    steps = len(SPARK) - 1
    base = (rows - 1 - row) * steps
    cells = []
    for v in tail:
        height = round(v / 100 * rows * steps)
        cells.append(SPARK[min(steps, max(0, height - base))])
    return "".join(cells).rjust(width)


class CoresPanel(Widget):
    """Per-core load: rows with a bar and a history strip, or a heat-map grid of cells for many cores."""

    COMPONENT_CLASSES = {f"cores--{name}" for name in LEVELS} | {"cores--label"}

    DEFAULT_CSS = """
    CoresPanel { height: auto; min-height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    CoresPanel > .cores--idle { color: $foreground 30%; }
    CoresPanel > .cores--low { color: $success; }
    CoresPanel > .cores--mid { color: $warning; }
    CoresPanel > .cores--high { color: $error; }
    CoresPanel > .cores--label { color: $foreground 60%; }
    """

    def __init__(self, cores: int = 1, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._history: list[deque[float]] = [deque(maxlen=HISTORY) for _ in range(max(1, cores))]

    @property
    def cores(self) -> int:
        """Number of cores shown."""
        return len(self._history)

    @property
    def latest(self) -> tuple[float, ...]:
        """The most recent percent per core (0 before any sample)."""
        return tuple(h[-1] if h else 0.0 for h in self._history)

    def history(self, core: int) -> list[float]:
        """The kept history of one core, oldest first."""
        return list(self._history[core])

    def push(self, percent: Sequence[float]) -> None:
        """Add one sample; a different core count (a replay from another machine) resets the history."""
        if not percent:
            return
        if len(percent) != len(self._history):
            self._history = [deque(maxlen=HISTORY) for _ in percent]
            self.refresh(layout=True)
        for hist, value in zip(self._history, percent, strict=True):
            hist.append(min(100.0, max(0.0, float(value))))
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"cores--{name}", partial=True)

    def _grid_mode(self) -> bool:
        return self.cores > 16

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self._grid_mode():
            return self.cores + 1
        per_row = max(1, (width - 1) // 2)
        return 1 + -(-self.cores // per_row)

    def render(self) -> Text:
        width = max(1, self.size.width)
        latest = self.latest
        avg = sum(latest) / len(latest) if latest else 0.0
        busy = sum(latest) / 100
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{self.cores} cores · {busy:.1f} busy · avg {avg:3.0f}%", self._style("label"))
        if self._grid_mode():
            # Heat-map: one 2-cell block per core, row-major, coloured by its current load.
            per_row = max(1, (width - 1) // 2)
            for i, value in enumerate(latest):
                if i % per_row == 0:
                    text.append("\n")
                text.append("██" if value >= 5 else "░░", self._style(level(value)))
            return text
        label_w = len(str(self.cores - 1)) + 3
        bar_w = min(BAR_WIDTH, max(3, (width - label_w - 7) // 2))
        spark_w = max(0, width - label_w - bar_w - 8)
        # Spare height turns each core's history strip into a taller chart (easier to read from afar).
        rows = max(1, min(MAX_CHART_ROWS, (self.size.height - 1) // self.cores)) if self.size.height else 1
        for i, hist in enumerate(self._history):
            value = hist[-1] if hist else 0.0
            filled = round(value / 100 * bar_w)
            style = self._style(level(value))
            for r in range(rows):
                text.append("\n")
                if r == 0:
                    text.append(f"cpu{i}".ljust(label_w), self._style("label"))
                    text.append("█" * filled, style)
                    text.append("░" * (bar_w - filled), self._style("idle"))
                    text.append(f" {value:3.0f}% ")
                else:
                    text.append(" " * (label_w + bar_w + 6))
                if spark_w:
                    text.append(chart_row(hist, spark_w, rows, r), style)
        return text
