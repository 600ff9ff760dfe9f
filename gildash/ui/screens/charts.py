"""The charts screen: the scaling chart in five views, the sweep's typed warnings and a table of its points.

Shows the live sweep while one runs (update_sweep), else the session's measured runs pooled per workload
(SessionHistory.chart_sweeps), newest first. Never runs anything itself.
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
from gildash.engine.sweep import collect_warnings
from gildash.ui.widgets.scaling_chart import VIEW_NAMES, VIEWS, ChartView, ScalingChart

POINT_COLUMNS = ("target", "threads", "median", "speedup", "efficiency", "vs rust")
"""Columns of the points table."""

_VIEW_BY_NAME: dict[str, ChartView] = {v: v for v in VIEWS}


def current_sweep(history: SessionHistory) -> SweepResult | None:
    """What the charts show from history: the pooled runs of the workload that ran last (None when empty)."""
    entries = history.entries()
    pooled = history.chart_sweeps()
    if not entries or not pooled:
        return None
    latest = entries[-1]
    if latest.kind == "run":
        run_ids = {history.runs[latest.index].run_id}
    else:
        run_ids = {r.run_id for r in history.sweeps[latest.index].runs}
    for sweep in pooled:
        if any(r.run_id in run_ids for r in sweep.runs):
            return sweep
    return pooled[-1]


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
        Binding("escape,c", "back", "Back", id="charts.back"),
    ]

    def __init__(
        self,
        history: SessionHistory,
        targets: Sequence[Target],
        *,
        live: SweepResult | None = None,
        cores: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """history: the session; targets: display order; live: a running sweep's partial; cores: for warnings
        (None: this machine's)."""
        super().__init__(name=name, id=id, classes=classes)
        self._history = history
        self._targets = list(targets)
        self._live = live
        self._cores = cores
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
        yield ScalingChart(self._sweep, order=self._order(), id="charts-chart")
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
        """Re-read history (after a run or a sweep finished); a finished sweep is in history by then."""
        self._live = None
        self._sweep = current_sweep(self._history)
        self._refresh()

    def set_targets(self, targets: Sequence[Target]) -> None:
        """New display order of targets (after discovery finished)."""
        self._targets = list(targets)
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
        chart.show_result(sweep, order=self._order())
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
        state = "live sweep" if self._live is not None else "this session"
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
        warnings = collect_warnings(sweep, cores=self._cores) if sweep is not None and sweep.points else []
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
                median + (" s" if median != "—" else ""),
                fmt_ratio(p.speedup),
                fmt_percent(p.efficiency),
                fmt_ratio(p.vs_rust),
            )
