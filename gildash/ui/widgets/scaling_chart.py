"""The scaling chart: five views of one SweepResult (speedup, wall time, efficiency, bars, gap to Rust).

Owns its data and its own plotext figure (`self.plt`); never touches module-level plotext. It only
draws what the engine measured: no smoothing, no invented points.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Literal

from rich.align import Align
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual_plotext import PlotextPlot

from gildash.engine.model import AmdahlFit, SweepPoint, SweepResult
from gildash.engine.sweep import MIN_FIT_POINTS

ChartView = Literal["speedup", "wall", "efficiency", "bars", "rust"]
RGB = tuple[int, int, int]

VIEWS: tuple[ChartView, ...] = ("speedup", "wall", "efficiency", "bars", "rust")
"""Every view, in key order (1-5)."""

VIEW_NAMES: dict[ChartView, str] = {
    "speedup": "Speedup",
    "wall": "Wall time",
    "efficiency": "Efficiency",
    "bars": "Exec time",
    "rust": "Gap to Rust",
}
"""Short tab names of the views."""

EMPTY_HINT = "no data yet — press s on the dashboard to run a sweep"
"""What the chart says before any run has finished."""

NO_RUST_HINT = "no Rust data yet — add the rust target to the sweep to see the gap"
"""What the gap-to-Rust view says when no rust point exists."""

RUST_ID = "rust"
"""Target id of the Rust baseline (matches sweep.summarize's rust_id)."""

IDEAL_COLOR: RGB = (128, 128, 128)
"""Grey for the ideal lines: reference, not data."""

CORES_COLOR: RGB = (200, 60, 60)
"""Red for the physical-core marker: past it, threads share cores and the ideal line is out of reach."""

KNOWN_COLORS: dict[str, RGB] = {
    "py3.11": (0, 130, 200),
    "py3.13t": (60, 180, 75),
    "py3.13t+gil": (240, 50, 230),
    "py3.14t": (180, 225, 40),
    "py3.14t+gil": (250, 190, 212),
    "rust": (245, 130, 48),
}
"""Fixed colours for the usual targets, so a target looks the same in every view and every session."""

FALLBACK_COLORS: tuple[RGB, ...] = (
    (255, 225, 25),
    (70, 240, 240),
    (220, 190, 255),
    (170, 110, 40),
    (0, 128, 128),
    (230, 25, 75),
)
"""Colours for other targets, picked by a stable hash of the id."""

LegendEntry = tuple[str, str, RGB]
"""(swatch, label, colour) of one legend item."""

FIT_STEPS = 40
"""Samples of the Amdahl curve between 1 and the largest thread count."""


def target_color(target_id: str) -> RGB:
    """The colour of a target in every chart: fixed for known ids, else a stable hash (crc32, not hash())."""
    known = KNOWN_COLORS.get(target_id)
    if known is not None:
        return known
    return FALLBACK_COLORS[zlib.crc32(target_id.encode()) % len(FALLBACK_COLORS)]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 tick values covering lo..hi (both > 0) for a log axis."""
    ticks = [
        m * 10.0**e
        for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
    ]
    inside = [t for t in ticks if lo / 1.25 <= t <= hi * 1.25]
    return inside or [lo, hi]


def _cores_label(n: int) -> str:
    return f"{n} physical core{'' if n == 1 else 's'}"


def _workers_label(n: int, workers: str) -> str:
    return f"{n} {workers[:-2] if workers == 'processes' else workers[:-1]}" if n == 1 else f"{n} {workers}"


class ScalingChart(PlotextPlot):
    """A plotext chart of one sweep in one of five views; an explanatory message instead of an empty plot."""

    view: reactive[ChartView] = reactive("speedup")
    """The view shown."""

    def __init__(
        self,
        result: SweepResult | None = None,
        *,
        view: ChartView = "speedup",
        order: Sequence[str] = (),
        physical_cores: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._result = result
        self._order = tuple(order)
        self._physical_cores = physical_cores
        self._message: str | None = None
        self._series: tuple[str, ...] = ()
        self._legend: list[LegendEntry] = []
        # Set without triggering the watcher: replot needs the widget mounted (size, app theme).
        self.set_reactive(ScalingChart.view, view)

    @property
    def result(self) -> SweepResult | None:
        """The sweep shown (None before any data)."""
        return self._result

    @property
    def message(self) -> str | None:
        """The text shown instead of a plot (empty state, missing baseline); None when plotting."""
        return self._message

    @property
    def series(self) -> tuple[str, ...]:
        """Names of what the last replot drew, e.g. ('ideal', 'py3.13t', 'py3.13t fit')."""
        return self._series

    @property
    def physical_cores(self) -> int | None:
        """The physical cores the speedup view marks (None: not known, no marker)."""
        return self._physical_cores

    def show_result(
        self,
        result: SweepResult | None,
        *,
        order: Sequence[str] | None = None,
        physical_cores: int | None = None,
    ) -> None:
        """Chart a new (or grown) sweep; order lists target ids in display order; physical_cores (when
        given) is the machine's, marked on the speedup view."""
        self._result = result
        if order is not None:
            self._order = tuple(order)
        if physical_cores is not None:
            self._physical_cores = physical_cores
        self.replot()

    def on_mount(self) -> None:
        self.replot()

    def watch_view(self) -> None:
        self.replot()

    @property
    def legend(self) -> str:
        """The legend line as plain text (tests and screen readers)."""
        return self._legend_text().plain

    def _legend_text(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", justify="center")
        for i, (swatch, label, color) in enumerate(self._legend):
            if i:
                text.append("  ")
            text.append(swatch, style=Style(color=f"rgb{color}", bold=True))
            text.append(f" {label}")
        return text

    def render(self) -> RenderResult:
        if self._message is not None:
            text = Text(self._message, style="italic", justify="center")
            return Align.center(text, vertical="middle")
        # plotext's own legend sits inside the canvas and hides data on a short plot, so the legend is
        # one line of our own below the plot; the plot gets the remaining height.
        width, height = self.size.width, max(1, self.size.height - 1)
        self.plt.plotsize(width, height)
        self.plt._set_size(width, height)  # same belt-and-braces resize as PlotextPlot.render
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        try:
            plot = self.plt.build()
        except (ValueError, ArithmeticError, IndexError) as error:
            # plotext has corner cases (tiny sizes, odd ranges) that raise: say so, never crash the app.
            return Align.center(
                Text(f"chart cannot be drawn here ({error})", style="italic"), vertical="middle"
            )
        return Text("\n").join([Text.from_ansi(plot.rstrip("\n")), self._legend_text()])

    def replot(self) -> None:
        """clear → plot the current view → refresh."""
        # clear_figure also resets title, ticks, limits and log scale left by the previous view.
        self.plt.clear_figure()
        self._series = ()
        self._legend = []
        self._message = None
        points = list(self._result.points) if self._result is not None else []
        if not points:
            self._message = EMPTY_HINT
        else:
            draw = {
                "speedup": self._plot_speedup,
                "wall": self._plot_wall,
                "efficiency": self._plot_efficiency,
                "bars": self._plot_bars,
                "rust": self._plot_rust,
            }[self.view]
            self._message = draw(points)
        self.refresh()

    # -- data helpers -------------------------------------------------------------------------------

    def _target_ids(self, points: Sequence[SweepPoint]) -> list[str]:
        """Targets with points, in display order (the given order first, then the sweep's)."""
        present = [p.target_id for p in points]
        ordered = [t for t in self._order if t in present]
        ordered.extend(t for t in dict.fromkeys(present) if t not in ordered)
        return ordered

    @staticmethod
    def _of(points: Sequence[SweepPoint], target_id: str) -> list[SweepPoint]:
        return sorted((p for p in points if p.target_id == target_id), key=lambda p: p.threads)

    @staticmethod
    def _thread_counts(points: Sequence[SweepPoint]) -> list[int]:
        return sorted({p.threads for p in points})

    def _fit_for(self, target_id: str, measured: int) -> AmdahlFit | None:
        """The target's Amdahl fit, only when it has enough measured speedups to mean something."""
        if self._result is None or measured < MIN_FIT_POINTS:
            return None
        return next((f for f in self._result.fits if f.target_id == target_id), None)

    @property
    def worker_noun(self) -> str:
        """What the sweep's workers were: 'processes' when every run used the process executor."""
        runs = self._result.runs if self._result is not None else ()
        return "processes" if runs and all(r.executor == "process" for r in runs) else "threads"

    def _scaling_note(self) -> str:
        scaling = self._result.scaling if self._result is not None else "none"
        workload = self._result.workload if self._result is not None else ""
        return f"{workload}, {scaling} scaling" if scaling != "none" else workload

    def _x_axis(self, counts: Sequence[int]) -> None:
        self.plt.xticks(list(counts), [str(n) for n in counts])
        if len(counts) == 1:
            # A single x value gives plotext a zero-width axis; widen it around the point.
            self.plt.xlim(counts[0] - 1, counts[0] + 1)
        self.plt.xlabel(self.worker_noun)

    def _line(self, xs: Sequence[float], ys: Sequence[float], target_id: str, label: str) -> None:
        color = target_color(target_id)
        self._legend.append(("━", label, color))
        self.plt.plot(list(xs), list(ys), color=color, marker="hd")
        # Measured points get a visible dot so they stand out from the lines between them.
        self.plt.scatter(list(xs), list(ys), color=color, marker="●")

    # -- views (each returns a message to show instead of a plot, or None) -------------------------

    def _plot_speedup(self, points: Sequence[SweepPoint]) -> str | None:
        counts = self._thread_counts(points)
        drawn: list[str] = []
        top = float(max(counts))
        ideal_xs = [float(n) for n in counts] if len(counts) > 1 else [1.0, float(counts[0])]
        self.plt.plot(ideal_xs, ideal_xs, color=IDEAL_COLOR, marker="dot")
        drawn.append("ideal")
        any_speedup = False
        for target_id in self._target_ids(points):
            measured = [(p.threads, p.speedup) for p in self._of(points, target_id) if _finite(p.speedup)]
            if not measured:
                continue
            any_speedup = True
            xs = [n for n, _ in measured]
            ys = [s for _, s in measured if s is not None]
            top = max(top, *ys)
            fit = self._fit_for(target_id, len(measured))
            label = f"{target_id} s={fit.serial_fraction:.2f}" if fit else target_id
            self._line(xs, ys, target_id, label)
            drawn.append(target_id)
            if fit is not None:
                lo, hi = 1.0, float(max(xs))
                fxs = [lo + (hi - lo) * i / FIT_STEPS for i in range(FIT_STEPS + 1)]
                # Amdahl's law (sweep.amdahl_speedup) evaluated between the integer thread counts.
                fys = [1.0 / (fit.serial_fraction + (1.0 - fit.serial_fraction) / x) for x in fxs]
                self.plt.plot(fxs, fys, color=target_color(target_id), marker="braille")
                drawn.append(f"{target_id} fit")
        if not any_speedup:
            return "no 1-thread point yet — speedup needs each target's 1-thread time"
        cores = self._physical_cores
        if cores is not None and cores >= 1:
            if min(counts) <= cores <= max(counts):
                # Beyond this many threads the ideal line is out of reach: threads share physical cores.
                self.plt.vline(cores, color=CORES_COLOR)
                self._legend.append(("│", _cores_label(cores), CORES_COLOR))
                drawn.append("physical cores")
            else:
                self._legend.append(("│", f"{_cores_label(cores)} (off the chart)", CORES_COLOR))
        title = f"Speedup vs {self.worker_noun} ({self._scaling_note()}) · s = Amdahl serial fraction"
        self._against_ideal(drawn, counts, title, top * 1.05, "speedup ×")
        return None

    def _against_ideal(
        self, drawn: Sequence[str], counts: Sequence[int], title: str, top: float, ylabel: str
    ) -> None:
        """The common end of the views drawn against an ideal line (speedup, efficiency)."""
        self._series = tuple(drawn)
        self._legend.append(("•", "ideal", IDEAL_COLOR))
        if any(name.endswith(" fit") for name in drawn):
            self._legend.append(("⠒", "Amdahl fit", IDEAL_COLOR))
        self.plt.title(title)
        self.plt.ylim(0, top)
        self.plt.ylabel(ylabel)
        self._x_axis(counts)

    def _plot_wall(self, points: Sequence[SweepPoint]) -> str | None:
        counts = self._thread_counts(points)
        series: list[tuple[str, list[int], list[float]]] = []
        for target_id in self._target_ids(points):
            timed = [p for p in self._of(points, target_id) if _finite(p.median_s) and p.median_s > 0]
            if timed:
                series.append((target_id, [p.threads for p in timed], [p.median_s for p in timed]))
        walls = [y for _, _, ys in series for y in ys]
        if not walls:
            return "no passing run yet — every run so far failed; see the warnings below"
        # Rust is ~50-100x faster than CPython: on a linear axis its line would sit on zero.
        log = max(walls) / min(walls) > 20
        for target_id, xs, ys in series:
            # Our own log10 with real-valued tick labels: plotext's yscale("log") transforms the data in
            # place on every build, so a second render of the same figure takes log(log(y)) and fails.
            self._line(xs, [math.log10(y) for y in ys] if log else ys, target_id, target_id)
        self._series = tuple(t for t, _, _ in series)
        if log:
            ticks = log_ticks(min(walls), max(walls))
            self.plt.yticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
            self.plt.ylim(math.log10(min(walls)) - 0.1, math.log10(max(walls)) + 0.1)
        scale = " · log scale" if log else ""
        self.plt.title(f"Wall time, median seconds ({self._scaling_note()}){scale} · lower is better")
        self.plt.ylabel("seconds")
        self._x_axis(counts)
        return None

    def _plot_efficiency(self, points: Sequence[SweepPoint]) -> str | None:
        counts = self._thread_counts(points)
        drawn = ["ideal"]
        lo, hi = float(min(counts)), float(max(counts))
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        self.plt.plot([lo, hi], [1.0, 1.0], color=IDEAL_COLOR, marker="dot")
        top = 1.0
        for target_id in self._target_ids(points):
            measured = [p for p in self._of(points, target_id) if _finite(p.efficiency)]
            if not measured:
                continue
            ys = [p.efficiency for p in measured if p.efficiency is not None]
            top = max(top, *ys)
            self._line([p.threads for p in measured], ys, target_id, target_id)
            drawn.append(target_id)
        if len(drawn) == 1:
            return "no 1-thread point yet — efficiency needs each target's 1-thread time"
        title = f"Efficiency = speedup ÷ {self.worker_noun} ({self._scaling_note()}) · 1.0 is perfect"
        self._against_ideal(drawn, counts, title, top * 1.1, "efficiency")
        return None

    def _grouped_bars(
        self, counts: Sequence[int], targets: Sequence[str], values: dict[str, list[float]], unit: str
    ) -> None:
        categories = [_workers_label(n, self.worker_noun) for n in counts]
        data = [values[t] for t in targets]
        colors = [target_color(t) for t in targets]
        top = max((v for vs in data for v in vs), default=0.0)
        for t in targets:
            biggest = max(values[t], default=0.0)
            # A bar under ~3 % of the axis is a row of nothing: say its size in the legend instead.
            small = 0 < biggest < 0.03 * top
            self._legend.append(("█", f"{t} ≤ {biggest:.3g}{unit}" if small else t, target_color(t)))
        # plotext takes one colour per series here; its stub only knows the single-colour form.
        self.plt.multiple_bar(categories, data, color=colors)  # type: ignore[arg-type]

    def _plot_bars(self, points: Sequence[SweepPoint]) -> str | None:
        counts = self._thread_counts(points)
        targets = self._target_ids(points)
        values: dict[str, list[float]] = {}
        for target_id in targets:
            by_threads = {p.threads: p.median_s for p in self._of(points, target_id)}
            # A missing or failed point is a gap (0), never an invented time.
            values[target_id] = [
                by_threads[n] if n in by_threads and _finite(by_threads[n]) else 0.0 for n in counts
            ]
        if not any(v > 0 for vs in values.values() for v in vs):
            return "no passing run yet — every run so far failed; see the warnings below"
        self._series = tuple(targets)
        self._grouped_bars(counts, targets, values, " s")
        self.plt.title(f"Execution time, median seconds ({self._scaling_note()}) · lower is better")
        self.plt.ylabel("seconds")
        return None

    def _plot_rust(self, points: Sequence[SweepPoint]) -> str | None:
        if not any(p.target_id == RUST_ID and _finite(p.median_s) for p in points):
            return NO_RUST_HINT
        targets = [t for t in self._target_ids(points) if t != RUST_ID]
        counts = self._thread_counts([p for p in points if p.target_id == RUST_ID and _finite(p.median_s)])
        values: dict[str, list[float]] = {}
        for target_id in targets:
            ratios = {p.threads: p.vs_rust for p in self._of(points, target_id)}
            values[target_id] = [
                r if (r := ratios.get(n)) is not None and _finite(r) else 0.0 for n in counts
            ]
        shown = [t for t in targets if any(v > 0 for v in values[t])]
        if not shown:
            return "only Rust has data so far — the gap shows once a Python target runs the same threads"
        self._series = tuple(shown)
        self._grouped_bars(counts, shown, values, "×")
        self.plt.title(
            f"Gap to Rust: × slower than rust at the same {self.worker_noun} ({self._scaling_note()})"
        )
        self.plt.ylabel("× slower")
        return None
