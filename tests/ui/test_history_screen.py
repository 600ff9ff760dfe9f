"""The history screen: the session table, marking two entries for a side-by-side comparison."""

from __future__ import annotations

from textual.app import App
from textual.widgets import DataTable, Static

from gildash.engine.history import SessionHistory
from gildash.engine.model import RunResult, Target
from gildash.engine.sweep import summarize
from gildash.ui.screens.history import EMPTY_TEXT, HistoryScreen

PY311 = Target("py3.11", "CPython 3.11.2", "/usr/bin/python3.11", "python", "3.11.2", "cpython")
PY313T = Target(
    "py3.13t", "CPython 3.13.5 free-threaded", "/opt/py/bin/python3.13t", "python", "3.13.5", "cpython",
    free_threaded=True, gil_enabled=False,
)  # fmt: skip


def make_run(target: Target, threads: int, wall: float, cores: float, run_id: str) -> RunResult:
    """A passing sum_squares run."""
    return RunResult(
        run_id=run_id,
        workload="sum_squares",
        target=target,
        threads=threads,
        size=10_000_000,
        executor="thread",
        scaling="weak",
        status="ok",
        wall_s=wall,
        harness_wall_s=wall + 0.03,
        cpu_user_s=wall * cores,
        cpu_sys_s=0.0,
        effective_cores=cores,
        ok=True,
        exit_code=0,
        signal=None,
        noisy=False,
        gil_enabled_start=not target.free_threaded,
        gil_enabled_end=not target.free_threaded,
        gil_reenabled=False,
        gil_reenabled_by=None,
        malformed_lines=0,
        truncated_lines=0,
        stderr_tail="",
        message="ok",
        started_at=0.0,
    )


def session() -> SessionHistory:
    """Two single runs (py3.11 and py3.13t at 2 threads) and one sweep."""
    history = SessionHistory()
    history.add_run(make_run(PY311, 2, 1.25, 1.0, "a"))
    history.add_run(make_run(PY313T, 2, 0.865, 1.9, "b"))
    sweep_runs = [
        make_run(PY313T, 1, 0.80, 1.0, "s1"),
        make_run(PY313T, 2, 0.865, 1.9, "s2"),
        make_run(PY313T, 4, 1.74, 1.9, "s4"),
    ]
    history.add_sweep(summarize("sum_squares", "weak", sweep_runs))
    return history


class HistoryApp(App[None]):
    """Pushes a HistoryScreen, like the dashboard does on `h`."""

    def __init__(self, history: SessionHistory) -> None:
        super().__init__()
        self.history = history

    def on_mount(self) -> None:
        self.push_screen(HistoryScreen(self.history))


def screen_of(app: App[None]) -> HistoryScreen:
    assert isinstance(app.screen, HistoryScreen)
    return app.screen


async def test_table_lists_every_run_and_sweep() -> None:
    app = HistoryApp(session())
    async with app.run_test(size=(120, 40)):
        table = screen_of(app).query_one("#history-table", DataTable)
        assert table.row_count == 3
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
        assert rows[0][2:] == ["run", "sum_squares", "py3.11", "2", "1.250 s", "1.00", "ok"]
        assert rows[1][4] == "py3.13t" and rows[1][7] == "1.90"
        assert rows[2][2:6] == ["sweep", "sum_squares", "py3.13t", "1,2,4"]
        assert not screen_of(app).has_class("-comparing")


async def test_marking_two_entries_shows_the_comparison() -> None:
    app = HistoryApp(session())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        compare = screen.query_one("#history-compare", DataTable)
        await pilot.press("space")
        assert [e.index for e in screen.marked] == [0]
        assert not screen.has_class("-comparing") and compare.row_count == 0
        await pilot.press("down", "space")
        assert screen.has_class("-comparing")
        assert compare.display
        rows = {
            str(r[0]): (str(r[1]), str(r[2]))
            for r in (compare.get_row_at(i) for i in range(compare.row_count))
        }
        assert rows["target"] == ("py3.11", "py3.13t")
        assert rows["wall"] == ("1.250 s", "0.865 s")
        table = screen.query_one("#history-table", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["A", "B", ""]
        # Unmarking one hides the comparison again.
        await pilot.press("space")
        assert not screen.has_class("-comparing")


async def test_third_mark_replaces_the_oldest_and_run_vs_sweep_compares() -> None:
    app = HistoryApp(session())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        await pilot.press("space", "down", "space", "down", "space")
        assert [(e.kind, e.index) for e in screen.marked] == [("run", 1), ("sweep", 0)]
        compare = screen.query_one("#history-compare", DataTable)
        rows = {
            str(r[0]): (str(r[1]), str(r[2]))
            for r in (compare.get_row_at(i) for i in range(compare.row_count))
        }
        assert rows["kind"] == ("run", "sweep")
        assert rows["threads"] == ("2", "1,2,4")
        await pilot.press("x")
        assert screen.marked == () and not screen.has_class("-comparing")


async def test_empty_history_says_so_and_escape_goes_back() -> None:
    app = HistoryApp(SessionHistory())
    async with app.run_test() as pilot:
        screen = screen_of(app)
        assert screen.has_class("-empty")
        assert str(screen.query_one("#history-empty", Static).render()) == EMPTY_TEXT
        await pilot.press("space")  # nothing to mark: no error
        await pilot.press("escape")
        assert not isinstance(app.screen, HistoryScreen)


async def test_update_runs_adds_new_entries_and_keeps_marks() -> None:
    history = session()
    app = HistoryApp(history)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        await pilot.press("space")
        history.add_run(make_run(PY311, 4, 2.53, 1.0, "c"))
        screen.update_runs()
        await pilot.pause()
        assert screen.query_one("#history-table", DataTable).row_count == 4
        assert [(e.kind, e.index) for e in screen.marked] == [("run", 0)]
