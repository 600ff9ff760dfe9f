"""Per-core CPU panel: one row per logical CPU (bar, percent, history strip), a labelled grid when many.

The grid (more than GRID_ABOVE cores) gives each row of cores a label ('cpu0-31'), one cell per core
(height and colour by its load), the row's mean and the row's own history strip.

Owns its history (a deque per core of 1-s means, 256 s); fed with percent tuples, never samples itself.
A core's bar, its percentage and the newest point of its strip are one value: the last whole second
(`numbers`), so a bar never disagrees with the number beside it. A busy core is drawn in the theme's
success colour, not an alarm colour: on this screen a full core is usually the good outcome.
Repaints only the lines whose cells change (LineWidget): an idle machine sampled at 4 Hz costs a line or
two per frame, never the whole panel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from textual.geometry import Size

from gildash.ui.widgets.lines import LEVELS, Line, LineWidget, level_of

HISTORY = 256
"""History points kept per core: 256 s at one point per STRIP_EVERY samples (1 s at 4 Hz)."""
STRIP_EVERY = 4
"""Samples averaged into one history point: the strip scrolls once a second, not at every 4 Hz sample."""
SPARK = " ▁▂▃▄▅▆▇█"
"""Sparkline glyphs from idle to full."""
BAR_WIDTH = 12
"""Cells of each core's bar in list mode."""
MAX_CHART_ROWS = 6
"""Rows of one core's history chart at most."""
GRID_ABOVE = 16
"""More cores than this are drawn as a grid of rows of cores."""
GRID_ROW_SIZES = (64, 32, 16, 8)
"""Cores per grid row, the widest that fits first (powers of two: labels read 'cpu32-63')."""
MIN_GRID_STRIP = 8
"""History cells a grid row needs beside its cells for that row size to be chosen."""
IDLE_CELL = "░"
"""A grid cell under 5 %: a visible dot of texture where a blank would read as a missing core."""


def level(percent: float) -> str:
    """The load level name of a percentage (a core: idle under 5 %, high from 80 %)."""
    return level_of(percent, (5, 40, 80))


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


class CoresPanel(LineWidget):
    """Per-core load: rows with a bar and a history strip, or a heat-map grid of cells for many cores."""

    COMPONENT_CLASSES = {f"cores--{name}" for name in LEVELS} | {"cores--label"}
    PREFIX = "cores"

    DEFAULT_CSS = """
    CoresPanel { height: auto; min-height: 1; }
    CoresPanel > .cores--idle { color: $foreground 30%; }
    CoresPanel > .cores--low { color: $primary; }
    CoresPanel > .cores--mid { color: $success 70%; }
    CoresPanel > .cores--high { color: $success; text-style: bold; }
    CoresPanel > .cores--label { color: $foreground 60%; }
    """

    def __init__(self, cores: int = 1, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._reset(max(1, cores))

    def _reset(self, cores: int) -> None:
        self._history: list[deque[float]] = [deque(maxlen=HISTORY) for _ in range(cores)]
        self._latest: tuple[float, ...] = tuple(0.0 for _ in range(cores))
        self._window: deque[tuple[float, ...]] = deque(maxlen=STRIP_EVERY)
        """The last second of samples: the bars show their mean."""
        self._sums = [0.0] * cores
        self._pending = 0
        """Samples summed in _sums since the last history point."""
        self._charts: tuple[tuple[int, int], list[list[str]]] | None = None
        """((strip width, rows), chart rows per core): rebuilt at each history point (once a second)."""
        self._row_history: tuple[int, list[deque[float]]] | None = None
        """(cores per grid row, mean history per grid row): kept up to date at each history point."""
        self._grid_strips: tuple[tuple[int, int], list[str]] | None = None
        """((cores per row, strip width), strip per grid row): rebuilt at each history point."""
        self._dirty = True
        """What the panel shows changed since it last asked to repaint (numbers move once a second)."""

    @property
    def cores(self) -> int:
        """Number of cores shown."""
        return len(self._history)

    @property
    def latest(self) -> tuple[float, ...]:
        """The most recent percent per core (0 before any sample)."""
        return self._latest

    @property
    def shown(self) -> tuple[float, ...]:
        """What the bars show per core: the mean of the last second's samples.

        A 250 ms sample of /proc/stat counts 10 ms ticks, so it moves in 4 % steps: an idle core flickers
        0 % <-> 4 %. The 1-s mean, still refreshed at every sample, is steadier and four times finer.
        """
        window = self._window
        if not window:
            return self._latest
        return tuple(sum(column) / len(window) for column in zip(*window, strict=True))

    def history(self, core: int) -> list[float]:
        """The kept history of one core (means of STRIP_EVERY samples), oldest first."""
        return list(self._history[core])

    def push(self, percent: Sequence[float], *, paint: bool = True) -> None:
        """Add one sample; paint=False keeps it for a later repaint.

        A different core count (a replay from another machine) resets the history.
        """
        if not percent:
            return
        if len(percent) != len(self._history):
            self._reset(len(percent))
        self._latest = tuple(min(100.0, max(0.0, float(value))) for value in percent)
        self._window.append(self._latest)
        for i, value in enumerate(self._latest):
            self._sums[i] += value
        self._pending += 1
        if self._pending >= STRIP_EVERY:
            for hist, total in zip(self._history, self._sums, strict=True):
                hist.append(total / self._pending)
            self._sums = [0.0] * len(self._sums)
            self._pending = 0
            self._charts = None
            self._grid_strips = None
            if self._row_history is not None:
                per_row, rows = self._row_history
                for row, start in zip(rows, range(0, self.cores, per_row), strict=True):
                    row.append(_mean([hist[-1] for hist in self._history[start : start + per_row]]))
            self._dirty = True
        elif not self._history[0]:
            self._dirty = True  # before the first whole second the numbers are the live mean
        if paint and self._dirty:
            # Numbers, bars and cells show the last whole second: between seconds nothing to repaint.
            self._dirty = False
            self.changed()

    def _grid_mode(self) -> bool:
        return self.cores > GRID_ABOVE

    def _grid_geometry(self, width: int) -> tuple[int, int, int]:
        """(label width, cores per row, strip width) of the grid at this width."""
        label_w = len(f"cpu{self.cores - 1}-{self.cores - 1} ")
        fixed = label_w + 6  # the cells' row, then " 100% " before the strip
        for per_row in GRID_ROW_SIZES:
            if per_row < self.cores and fixed + per_row + MIN_GRID_STRIP <= width:
                return label_w, per_row, width - fixed - per_row
        # Narrow: as many cells as fit, no strip.
        return label_w, max(1, min(GRID_ROW_SIZES[-1], width - fixed)), 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self._grid_mode():
            return self.cores + 1
        per_row = self._grid_geometry(width)[1]
        return 1 + -(-self.cores // per_row)

    @property
    def numbers(self) -> tuple[float, ...]:
        """What the percentages say: the last whole second, `shown` before the first.

        That is the newest history point: the numbers match the strip and change once a second, not at
        every sample (an idle machine then costs about one small frame a second).
        """
        if not self._history or not self._history[0]:
            return self.shown
        return tuple(hist[-1] for hist in self._history)

    def _header(self) -> str:
        numbers = self.numbers
        avg = sum(numbers) / len(numbers) if numbers else 0.0
        return f"{self.cores} cores · {sum(numbers) / 100:.1f} busy · avg {avg:3.0f}%"

    def _geometry(self) -> tuple[int, int, int, int]:
        """(label width, bar width, strip width, chart rows) for the current size."""
        width = max(1, self.size.width)
        label_w = len(f"cpu{self.cores - 1} ")  # the space keeps "cpu0" off its bar
        bar_w = min(BAR_WIDTH, max(3, (width - label_w - 7) // 2))
        spark_w = max(0, width - label_w - bar_w - 8)
        # Spare height turns each core's history strip into a taller chart (easier to read from afar).
        rows = max(1, min(MAX_CHART_ROWS, (self.size.height - 1) // self.cores)) if self.size.height else 1
        return label_w, bar_w, spark_w, rows

    def build_lines(self) -> list[Line]:
        """What the panel draws, line by line, as (text, component name or '') segments."""
        width = max(1, self.size.width)
        latest = numbers = self.numbers  # bars and numbers: the same second
        lines: list[Line] = [((self._header(), "label"),)]
        if self._grid_mode():
            return lines + self._grid_lines(width, numbers)
        label_w, bar_w, spark_w, rows = self._geometry()
        if self._charts is None or self._charts[0] != (spark_w, rows):
            charts = [[chart_row(hist, spark_w, rows, r) for r in range(rows)] for hist in self._history]
            self._charts = ((spark_w, rows), charts)
        charts = self._charts[1]
        for i in range(len(self._history)):
            value = latest[i]
            filled = round(value / 100 * bar_w)
            load = level(value)
            for r in range(rows):
                if r == 0:
                    line: Line = (
                        (f"cpu{i}".ljust(label_w), "label"),
                        ("█" * filled, load),
                        ("░" * (bar_w - filled), "idle"),
                        (f" {numbers[i]:3.0f}% ", ""),
                    )
                else:
                    line = ((" " * (label_w + bar_w + 6), ""),)
                if spark_w:
                    line += ((charts[i][r], load),)
                lines.append(line)
        return lines

    def _row_means(self, per_row: int) -> list[deque[float]]:
        """Mean history of each grid row of per_row cores (rebuilt when the row size changes)."""
        if self._row_history is None or self._row_history[0] != per_row:
            rows = []
            for start in range(0, self.cores, per_row):
                group = self._history[start : start + per_row]
                rows.append(deque((_mean(point) for point in zip(*group, strict=True)), maxlen=HISTORY))
            self._row_history = (per_row, rows)
        return self._row_history[1]

    def _grid_lines(self, width: int, numbers: tuple[float, ...]) -> list[Line]:
        """One line per row of cores: label, a cell per core, the row's mean, the row's history strip."""
        label_w, per_row, strip_w = self._grid_geometry(width)
        strips: list[str] = []
        if strip_w:
            key = (per_row, strip_w)
            if self._grid_strips is None or self._grid_strips[0] != key:
                means = self._row_means(per_row)
                self._grid_strips = (key, [chart_row(row, strip_w, 1, 0) for row in means])
            strips = self._grid_strips[1]
        lines: list[Line] = []
        for index, start in enumerate(range(0, self.cores, per_row)):
            row = numbers[start : start + per_row]
            end = start + len(row) - 1
            line: list[tuple[str, str]] = [(f"cpu{start}-{end}".ljust(label_w), "label")]
            # Runs of cells of one load level share a segment: a few segments per row, not one per core.
            run_text, run_level = "", ""
            for value in row:
                cell_level = level(value)
                cell = (
                    IDLE_CELL
                    if cell_level == "idle"
                    else SPARK[max(1, round(value / 100 * (len(SPARK) - 1)))]
                )
                if cell_level != run_level and run_text:
                    line.append((run_text, run_level))
                    run_text = ""
                run_text += cell
                run_level = cell_level
            line.append((run_text, run_level))
            if len(row) < per_row:  # the last row of an odd count: its mean and strip stay in line
                line.append((" " * (per_row - len(row)), ""))
            mean = _mean(row)
            line.append((f" {mean:3.0f}% ", ""))
            if strips:
                line.append((strips[index], level(mean)))
            lines.append(tuple(line))
        return lines


def _mean(values: Sequence[float]) -> float:
    """The mean of values (0.0 for none)."""
    return sum(values) / len(values) if values else 0.0
