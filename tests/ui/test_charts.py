"""The charts screen and the scaling chart: views, empty state, growing sweeps, Amdahl fits, snapshots.

Fed with a fixed recorded sweep (sum_squares 10M per thread on a 2-core machine); nothing runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from gildash.engine.history import SessionHistory
from gildash.engine.machine import CpuFacts, MachineFacts
from gildash.engine.model import RunResult, SweepResult, Target
from gildash.engine.sweep import summarize
from gildash.ui.screens.charts import ChartsScreen
from gildash.ui.widgets.scaling_chart import EMPTY_HINT, NO_RUST_HINT, VIEWS, target_color

PY311 = Target("py3.11", "CPython 3.11.2", "/usr/bin/python3.11", "python", "3.11.2", "cpython")
PY313T = Target(
    "py3.13t", "CPython 3.13.5 free-threaded", "/opt/py/bin/python3.13t", "python", "3.13.5", "cpython",
    free_threaded=True, gil_enabled=False,
)  # fmt: skip
RUST = Target("rust", "Rust std::thread", "/opt/rust_cpu_bench", "rust", "1.75", "rust")
TARGETS = [PY311, PY313T, RUST]

# Median wall seconds of sum_squares, 10M per thread (weak scaling), measured on a 2-core machine:
# py3.11 stays at ~1.0× (GIL), py3.13t reaches ~1.85×, rust ~1.97× (2 cores: 4 threads gain nothing).
WALLS: dict[str, dict[int, float]] = {
    "py3.11": {1: 0.62, 2: 1.25, 4: 2.53},
    "py3.13t": {1: 0.80, 2: 0.865, 4: 1.74},
    "rust": {1: 0.011, 2: 0.01117, 4: 0.0224},
}
CORES = {"py3.11": 1.0, "py3.13t": 1.9, "rust": 1.98}
BY_ID = {t.id: t for t in TARGETS}


def make_run(
    target: Target, threads: int, wall: float, repeat: int = 0, workload: str = "sum_squares"
) -> RunResult:
    """A passing run as the runner reports it."""
    cores = min(float(threads), CORES.get(target.id, 1.0))
    cpu = wall * cores
    return RunResult(
        run_id=f"{target.id}-{threads}-{repeat}-{workload}",
        workload=workload,
        target=target,
        threads=threads,
        size=10_000_000,
        executor="thread",
        scaling="weak",
        status="ok",
        wall_s=wall,
        harness_wall_s=wall + 0.03,
        cpu_user_s=cpu,
        cpu_sys_s=0.0,
        effective_cores=cores,
        ok=True,
        exit_code=0,
        signal=None,
        noisy=False,
        gil_enabled_start=target.kind == "python" and not target.free_threaded,
        gil_enabled_end=target.kind == "python" and not target.free_threaded,
        gil_reenabled=False,
        gil_reenabled_by=None,
        malformed_lines=0,
        truncated_lines=0,
        stderr_tail="",
        message="ok",
        started_at=1_700_000_000.0 + repeat,
    )


def recorded_runs(
    targets: Sequence[str] = ("py3.11", "py3.13t", "rust"), threads=(1, 2, 4)
) -> list[RunResult]:
    """Three repeats per point, ±1 % around the recorded median, in the sweep's interleaved order."""
    runs = []
    for target_id in targets:
        for repeat, factor in enumerate((0.99, 1.0, 1.01)):
            for n in threads:
                runs.append(make_run(BY_ID[target_id], n, WALLS[target_id][n] * factor, repeat))
    return runs


def recorded_sweep(**kw: object) -> SweepResult:
    """The fixed sweep the snapshots show."""
    return summarize("sum_squares", "weak", recorded_runs(**kw))  # type: ignore[arg-type]


class ChartsApp(App[None]):
    """Pushes a ChartsScreen with the given data, like the dashboard does on `c`."""

    def __init__(
        self,
        history: SessionHistory | None = None,
        live: SweepResult | None = None,
        physical_cores: int | None = None,
    ) -> None:
        super().__init__()
        self.history = history if history is not None else SessionHistory()
        self.live = live
        self.physical_cores = physical_cores

    def on_mount(self) -> None:
        self.push_screen(
            ChartsScreen(self.history, TARGETS, live=self.live, cores=2, physical_cores=self.physical_cores)
        )


def history_with_sweep() -> SessionHistory:
    history = SessionHistory()
    history.add_sweep(recorded_sweep())
    return history


def screen_of(app: App[None]) -> ChartsScreen:
    assert isinstance(app.screen, ChartsScreen)
    return app.screen


async def test_keys_1_to_5_switch_the_view() -> None:
    app = ChartsApp(history_with_sweep())
    async with app.run_test(size=(120, 40)) as pilot:
        chart = screen_of(app).chart
        assert chart.view == "speedup"
        for key, view in zip("12345", VIEWS, strict=True):
            await pilot.press(key)
            assert chart.view == view
            assert chart.message is None, view
            assert chart.series, view
            assert str(chart.render()) == str(chart.render())
        tabs = str(screen_of(app).query_one("#charts-tabs", Static).render())
        assert "5 Gap to Rust" in tabs


async def test_arrows_and_tab_cycle_the_views_even_with_the_table_focused() -> None:
    app = ChartsApp(history_with_sweep())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        screen.query_one("#charts-points", DataTable).focus()
        await pilot.press("right")
        assert screen.chart.view == "wall"
        await pilot.press("tab", "tab")
        assert screen.chart.view == "bars"
        await pilot.press("left", "left", "left", "left")
        assert screen.chart.view == "rust"


async def test_escape_and_c_go_back() -> None:
    app = ChartsApp(history_with_sweep())
    async with app.run_test() as pilot:
        await pilot.press("escape")
        assert not isinstance(app.screen, ChartsScreen)
        app.push_screen(ChartsScreen(app.history, TARGETS))
        await pilot.pause()
        await pilot.press("c")
        assert not isinstance(app.screen, ChartsScreen)


async def test_empty_state_shows_the_hint_in_every_view() -> None:
    app = ChartsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        chart = screen_of(app).chart
        for key in "12345":
            await pilot.press(key)
            assert chart.message == EMPTY_HINT
            assert "press s on the dashboard" in str(chart.render())
        assert screen_of(app).query_one("#charts-points", DataTable).row_count == 0


async def test_gap_to_rust_without_rust_says_so() -> None:
    history = SessionHistory()
    history.add_sweep(recorded_sweep(targets=("py3.11", "py3.13t")))
    app = ChartsApp(history)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        chart = screen_of(app).chart
        assert chart.message == NO_RUST_HINT
        await pilot.press("1")
        assert chart.message is None


async def test_update_sweep_grows_point_by_point_and_fit_needs_three_points() -> None:
    app = ChartsApp()
    runs = [make_run(PY313T, n, WALLS["py3.13t"][n]) for n in (1, 2, 4)]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        table = screen.query_one("#charts-points", DataTable)
        for grown in range(1, 4):
            screen.update_sweep(summarize("sum_squares", "weak", runs[:grown]))
            await pilot.pause()
            assert table.row_count == grown
            assert len(screen.chart.result.points if screen.chart.result else ()) == grown
            fitted = "py3.13t fit" in screen.chart.series
            assert fitted == (grown >= 3), grown
        caption = str(screen.query_one("#charts-caption", Static).render())
        assert "live sweep" in caption


async def test_amdahl_fit_in_legend_only_with_three_thread_counts() -> None:
    history = SessionHistory()
    history.add_sweep(recorded_sweep(threads=(1, 2)))
    app = ChartsApp(history)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = screen_of(app).chart
        assert not any(s.endswith(" fit") for s in chart.series)
        assert "s=" not in str(chart.render())
        history.add_sweep(recorded_sweep())
        screen_of(app).update_runs()
        await pilot.pause()
        assert {"py3.11 fit", "py3.13t fit", "rust fit"} <= set(chart.series)
        assert "py3.13t s=" in str(chart.render())


async def test_update_runs_shows_single_runs_of_the_latest_workload() -> None:
    history = SessionHistory()
    app = ChartsApp(history)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        assert screen.chart.message == EMPTY_HINT
        history.add_run(make_run(PY311, 1, 0.62, workload="primes"))
        history.add_run(make_run(PY311, 1, 0.62))
        history.add_run(make_run(PY311, 2, 1.25))
        screen.update_runs()
        await pilot.pause()
        assert screen.sweep is not None and screen.sweep.workload == "sum_squares"
        assert screen.chart.message is None
        assert screen.query_one("#charts-points", DataTable).row_count == 2


async def test_warnings_and_points_table_are_shown() -> None:
    app = ChartsApp(history_with_sweep())
    async with app.run_test(size=(120, 40)):
        screen = screen_of(app)
        warnings = screen.query_one("#charts-warnings", Static)
        assert warnings.has_class("-has-warnings")
        assert "oversubscribed" in str(warnings.render())
        table = screen.query_one("#charts-points", DataTable)
        assert table.row_count == 9
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:4] == ["py3.11", "1", "10M", "0.620 s"]
        rust_gap = [str(c) for c in table.get_row_at(5)]
        assert rust_gap[0] == "py3.13t" and rust_gap[-1] == "77.68×"


async def test_update_sweep_before_mount_is_kept() -> None:
    screen = ChartsScreen(SessionHistory(), TARGETS, cores=2)
    screen.update_sweep(recorded_sweep())

    class Pushing(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    app = Pushing()
    async with app.run_test(size=(120, 40)):
        assert screen.chart.message is None
        assert screen.query_one("#charts-points", DataTable).row_count == 9


def test_target_colors_are_stable_and_distinct() -> None:
    assert target_color("py3.11") != target_color("py3.13t") != target_color("rust")
    assert target_color("pypy3.10") == target_color("pypy3.10")


@pytest.mark.parametrize("key", list("12345"))
def test_snapshot_views(snap_compare, key: str) -> None:  # type: ignore[no-untyped-def]
    """Each view of the recorded sweep at 120×40."""
    assert snap_compare(ChartsApp(history_with_sweep()), press=[key], terminal_size=(120, 40))


def test_snapshot_empty(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The empty state at 80×24."""
    assert snap_compare(ChartsApp(), terminal_size=(80, 24))


def test_snapshot_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The speedup view stays readable at 80×24."""
    assert snap_compare(ChartsApp(history_with_sweep()), terminal_size=(80, 24))


def failed(run: RunResult) -> RunResult:
    """The same run, crashed before its summary."""
    return replace(run, status="crashed", ok=False, wall_s=None, effective_cores=None, message="exit 1")


DEGENERATE = {
    "first point only": [make_run(PY311, 1, 0.62)],
    "one thread count": [make_run(t, 1, WALLS[t.id][1]) for t in TARGETS],
    "no 1-thread point": [make_run(PY313T, n, WALLS["py3.13t"][n]) for n in (2, 4)],
    "everything failed": [failed(make_run(PY311, n, 1.0)) for n in (1, 2)],
    "only rust": [make_run(RUST, n, WALLS["rust"][n]) for n in (1, 2, 4)],
    "a failed point among good": [
        *(make_run(PY313T, n, WALLS["py3.13t"][n]) for n in (1, 2)),
        failed(make_run(PY313T, 4, 1.0)),
        *(make_run(RUST, n, WALLS["rust"][n]) for n in (1, 2, 4)),
    ],
}


@pytest.mark.parametrize("case", list(DEGENERATE))
async def test_degenerate_sweeps_render_in_every_view(case: str) -> None:
    """Partial, failed and lopsided sweeps render a plot or a message in every view, never a traceback."""
    app = ChartsApp(live=summarize("sum_squares", "weak", DEGENERATE[case]))
    async with app.run_test(size=(80, 24)) as pilot:
        chart = screen_of(app).chart
        for key in "12345":
            await pilot.press(key)
            rendered = str(chart.render())
            assert rendered.strip()
            # A figure is rendered again on every refresh or resize: that must give the same picture.
            assert str(chart.render()) == rendered
            assert (chart.message is None) == bool(chart.series), (case, key)


async def test_tiny_and_resized_terminals_still_render() -> None:
    app = ChartsApp(history_with_sweep())
    async with app.run_test(size=(120, 40)) as pilot:
        chart = screen_of(app).chart
        for size in ((40, 12), (20, 8), (200, 60)):
            await pilot.resize_terminal(*size)
            for key in "12345":
                await pilot.press(key)
                assert str(chart.render()).strip()


async def test_points_table_shows_the_size_each_target_ran_at() -> None:
    sizes = {"py3.11": 9_500_000, "py3.13t": 7_800_000, "rust": 1_200_000_000}
    runs = [replace(r, size=sizes[r.target.id]) for r in recorded_runs(threads=(1, 2))]
    app = ChartsApp(live=summarize("sum_squares", "weak", runs))
    async with app.run_test(size=(120, 40)):
        table = screen_of(app).query_one("#charts-points", DataTable)
        assert "size" in [str(c.label) for c in table.columns.values()]
        shown = {(str(row[0]), str(row[2])) for row in (table.get_row_at(i) for i in range(table.row_count))}
        assert shown == {("py3.11", "9.5M"), ("py3.13t", "7.8M"), ("rust", "1.2G")}


async def test_speedup_chart_marks_the_physical_cores() -> None:
    app = ChartsApp(history_with_sweep(), physical_cores=2)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = screen_of(app).chart
        assert chart.physical_cores == 2
        assert "physical cores" in chart.series
        assert "2 physical cores" in chart.legend
        assert "│ 2 physical cores" in str(chart.render())
        await pilot.press("2")  # the other views mark nothing
        assert "physical cores" not in chart.legend


async def test_no_marker_when_the_physical_cores_are_unknown_or_off_the_chart() -> None:
    unknown = ChartsApp(history_with_sweep())
    async with unknown.run_test(size=(120, 40)):
        chart = screen_of(unknown).chart
        assert "physical" not in chart.legend and "physical cores" not in chart.series
    wide = ChartsApp(history_with_sweep(), physical_cores=8)  # the sweep went to 4 threads
    async with wide.run_test(size=(120, 40)):
        chart = screen_of(wide).chart
        assert "8 physical cores (off the chart)" in chart.legend and "physical cores" not in chart.series


async def test_a_sweep_marks_the_physical_cores_of_the_machine_it_ran_on() -> None:
    # the runs recorded one physical core with two SMT siblings: that machine's count, not this one's
    cpus = tuple(CpuFacts(c, 0, 0, (0, 1), None, None, None) for c in (0, 1))
    facts = MachineFacts(2, 1, 2, (0, 1), "Fake", cpus, (0.1, 0.1, 0.1), "CPython", "Linux", 0.0)
    runs = [replace(r, machine=facts) for r in recorded_runs(threads=(1, 2))]
    app = ChartsApp(live=summarize("sum_squares", "weak", runs), physical_cores=2)
    async with app.run_test(size=(120, 40)):
        screen = screen_of(app)
        assert screen.chart.physical_cores == 1
        assert "1 physical core" in screen.chart.legend and "1 physical cores" not in screen.chart.legend
        # and the machine's own warning joins the sweep's in the warnings box
        assert "smt-siblings: 2 threads on 1 physical core" in str(
            screen.query_one("#charts-warnings", Static).render()
        )
