"""The charts screen: the scaling chart in five views, the sweep's typed warnings and a table of its points.

Shows one thing at a time: the live sweep while one runs (SweepChanged), else one of the session's
chart sets (SessionHistory.chart_sets: each sweep alone, single runs pooled apart), the newest first;
`[` and `]` pick another. Never runs anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from gildash.engine.export import fmt_percent, fmt_ratio, fmt_seconds
from gildash.engine.history import SessionHistory
from gildash.engine.model import SweepResult, Target
from gildash.engine.sweep import collect_warnings, sweep_machine
from gildash.ui.messages import SweepChanged, SweepEnded
from gildash.ui.widgets.scaling_chart import VIEW_NAMES, VIEWS, ChartView, ScalingChart

POINT_COLUMNS = ("target", "threads", "size", "median", "speedup", "efficiency", "vs rust")
"""Columns of the points table."""

_VIEW_BY_NAME: dict[str, ChartView] = {v: v for v in VIEWS}


def fmt_size(size: int | None) -> str:
    """A run's --size in short: 40_000_000 -> '40M', 1_200_000_000 -> '1.2G', None -> '—'."""
    if size is None:
        return "—"
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if size >= scale:
            return f"{size / scale:.4g}{unit}"
    return str(size)


def sweep_physical_cores(sweep: SweepResult | None, fallback: int | None) -> int | None:
    """Physical cores of the machine the sweep ran on (its runs' facts), else fallback (this machine's)."""
    facts = sweep_machine(sweep) if sweep is not None else None
    if facts is not None:
        cores = facts.usable_physical_cores or facts.physical_cores
        if cores is not None:
            return cores
    return fallback


def current_sweep(history: SessionHistory) -> SweepResult | None:
    """What the charts show from history first: the newest chart set (None when empty)."""
    sets = history.chart_sets()
    return sets[-1].sweep if sets else None


class ChartsScreen(Screen[None]):
    """Scaling charts of the current sweep (live) or of the session's runs."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_view('speedup')", "Speedup", id="charts.speedup", priority=True),
        Binding("2", "show_view('wall')", "Wall", id="charts.wall", priority=True),
        Binding("3", "show_view('efficiency')", "Efficiency", id="charts.efficiency", priority=True),
        Binding("4", "show_view('bars')", "Bars", id="charts.bars", priority=True),
        Binding("5", "show_view('rust')", "vs Rust", id="charts.rust", priority=True),
        Binding("right,tab", "cycle_view(1)", "Next view", id="charts.next", show=False, priority=True),
        Binding(
            "left,shift+tab", "cycle_view(-1)", "Previous view", id="charts.prev", show=False, priority=True
        ),
        Binding("left_square_bracket", "pick(-1)", "Older sweep", id="charts.older", priority=True),
        Binding("right_square_bracket", "pick(1)", "Newer sweep", id="charts.newer", priority=True),
        Binding("escape,c", "back", "Back", id="charts.back"),
    ]

    def __init__(
        self,
        history: SessionHistory,
        targets: Sequence[Target],
        *,
        live: SweepResult | None = None,
        cores: int | None = None,
        physical_cores: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """history: the session; targets: display order; live: a running sweep's partial; cores: for warnings
        (None: this machine's); physical_cores: this machine's, marked on the speedup chart (a sweep whose
        runs recorded the machine's facts marks those instead)."""
        super().__init__(name=name, id=id, classes=classes)
        self._history = history
        self._targets = list(targets)
        self._live = live
        self._cores = cores
        self._physical_cores = physical_cores
        self._sets = history.chart_sets()
        self._pick = len(self._sets) - 1
        """Index into _sets of what is on show (when no sweep is live)."""
        self._sweep: SweepResult | None = live if live is not None else current_sweep(history)
        self._composed = False

    @property
    def sweep(self) -> SweepResult | None:
        """The sweep on screen."""
        return self._sweep

    @property
    def chart(self) -> ScalingChart:
        """The chart widget."""
        return self.query_one("#charts-chart", ScalingChart)

    def compose(self) -> ComposeResult:
        yield Static(id="charts-tabs")
        yield Static(id="charts-caption")
        yield ScalingChart(
            self._sweep,
            order=self._order(),
            physical_cores=sweep_physical_cores(self._sweep, self._physical_cores),
            id="charts-chart",
        )
        with Vertical(id="charts-below"):
            yield Static(id="charts-warnings")
            yield DataTable(id="charts-points", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#charts-points", DataTable).add_columns(*POINT_COLUMNS)
        self._composed = True
        self._refresh()

    def on_unmount(self) -> None:
        self._composed = False

    def update_sweep(self, partial: SweepResult) -> None:
        """Show a running sweep's partial aggregate; the chart grows as points arrive."""
        self._live = partial
        self._sweep = partial
        self._refresh()

    def update_runs(self) -> None:
        """Re-read history (after a run or a sweep finished) and show the newest set."""
        self._live = None
        self._sets = self._history.chart_sets()
        self._pick = len(self._sets) - 1
        self._sweep = self._sets[-1].sweep if self._sets else None
        self._refresh()

    def on_sweep_changed(self, message: SweepChanged) -> None:
        self.update_sweep(message.partial)

    def on_sweep_ended(self, message: SweepEnded) -> None:
        self.update_runs()

    def action_pick(self, step: int) -> None:
        """Show an older (-1) or newer (+1) sweep or set of single runs."""
        if self._live is not None:
            self.notify("a sweep is running: its chart stays until it ends", timeout=3)
            return
        if len(self._sets) < 2:
            self.notify("only one sweep in this session", timeout=3)
            return
        self._pick = (self._pick + step) % len(self._sets)
        self._sweep = self._sets[self._pick].sweep
        self._refresh()

    def _order(self) -> list[str]:
        return [t.id for t in self._targets]

    def action_show_view(self, view: str) -> None:
        chosen = _VIEW_BY_NAME.get(view)
        if chosen is not None:
            self.chart.view = chosen
            self._refresh_tabs(chosen)

    def action_cycle_view(self, step: int) -> None:
        chart = self.chart
        chart.view = VIEWS[(VIEWS.index(chart.view) + step) % len(VIEWS)]
        self._refresh_tabs(chart.view)

    def action_back(self) -> None:
        self.dismiss()

    def _refresh(self) -> None:
        # update_sweep may arrive while the screen is not (or no longer) mounted: keep the data for later.
        if not self._composed:
            return
        sweep = self._sweep
        chart = self.chart
        chart.show_result(
            sweep, order=self._order(), physical_cores=sweep_physical_cores(sweep, self._physical_cores)
        )
        self._refresh_tabs(chart.view)
        self._refresh_caption(sweep)
        self._refresh_warnings(sweep)
        self._refresh_table(sweep)

    def _refresh_tabs(self, active: ChartView) -> None:
        tabs = Text()
        for i, view in enumerate(VIEWS, start=1):
            style = "reverse bold" if view == active else "dim"
            tabs.append(f" {i} {VIEW_NAMES[view]} ", style=style)
            tabs.append(" ")
        self.query_one("#charts-tabs", Static).update(tabs)

    def _refresh_caption(self, sweep: SweepResult | None) -> None:
        caption = self.query_one("#charts-caption", Static)
        if sweep is None or not sweep.points:
            caption.update("")
            return
        targets = len({p.target_id for p in sweep.points})
        repeats = max((len(p.walls) for p in sweep.points), default=0)
        if self._live is not None:
            state = "live sweep"
        elif self._sets and 0 <= self._pick < len(self._sets):
            chosen = self._sets[self._pick]
            state = f"{chosen.title} ({self._pick + 1} of {len(self._sets)}, [ ] picks)"
        else:
            state = "this session"
        scaling = {"weak": "weak scaling: same work per thread", "strong": "strong scaling: work split"}.get(
            sweep.scaling, "scaling unknown"
        )
        caption.update(
            Text(
                f"{sweep.workload} · {scaling} · {targets} target{'s' if targets != 1 else ''} · "
                f"median of ≤ {repeats} · {state}",
                no_wrap=True,
                overflow="ellipsis",
            )
        )

    def _refresh_warnings(self, sweep: SweepResult | None) -> None:
        box = self.query_one("#charts-warnings", Static)
        warnings = (
            collect_warnings(sweep, cores=self._cores, audience="dashboard")
            if sweep is not None and sweep.points
            else []
        )
        text = Text()
        for i, w in enumerate(warnings):
            if i:
                text.append("\n")
            text.append(f"⚠ {w.kind}: ", style="bold")
            text.append(w.message)
        box.update(text)
        box.set_class(bool(warnings), "-has-warnings")

    def _refresh_table(self, sweep: SweepResult | None) -> None:
        table = self.query_one("#charts-points", DataTable)
        table.clear()
        table.display = sweep is not None and bool(sweep.points)
        if sweep is None:
            return
        order = self._order()
        rank = {t: i for i, t in enumerate(order)}
        points = sorted(sweep.points, key=lambda p: (rank.get(p.target_id, len(order)), p.threads))
        for p in points:
            target = p.target_id + (" (GIL re-enabled)" if p.gil_reenabled else "") + ("" if p.ok else " ✗")
            median = fmt_seconds(p.median_s)
            table.add_row(
                target,
                str(p.threads),
                fmt_size(p.size),
                median + (" s" if median != "—" else ""),
                fmt_ratio(p.speedup),
                fmt_percent(p.efficiency),
                fmt_ratio(p.vs_rust),
            )
