"""The timeline panel: a GIL run's rows interlock, a free-threaded run's run side by side; the figures
beside them; it keeps the last window when the run ends; a command that does not time itself keeps the
lanes and says why; zoom; replay of a timed recording draws the same rows."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_for
from fakes import PY311, PY313T, FakeEngine, fake_sources, scripted_updates

from gildash.engine.model import RunSpec
from gildash.engine.record_tap import RunTap
from gildash.engine.recording import Recorder
from gildash.ui.app import GildashApp, make_app
from gildash.ui.widgets.timeline import TimelineFigures, TimelineRows, row_cells


def rows(app: GildashApp) -> list[str]:
    return app.dashboard.query_one(TimelineRows).plain_text.splitlines()


async def run_target(pilot, app: GildashApp, key: str) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: bool(app.dashboard.targets))
    await pilot.press(key, "t", "t", "t")  # 200 ms -> 2 s -> 50 ms -> 200 ms: zoom cycles back
    await pilot.press("t", "t")  # 50 ms across: single switch intervals are a few cells wide
    await pilot.press("r")
    await wait_for(pilot, lambda: not app.dashboard.running and app.dashboard.last_result is not None)
    await pilot.pause()


def test_row_cells_draw_a_zipper_and_solid_rows() -> None:
    a = [(i * 0.010, i * 0.010 + 0.005) for i in range(5)]
    b = [(i * 0.010 + 0.005, i * 0.010 + 0.010) for i in range(5)]
    assert row_cells(a, [], 0, 0.05, 10) == "█ █ █ █ █ "
    assert row_cells(b, [], 0, 0.05, 10) == " █ █ █ █ █"
    assert row_cells([(0, 1)], [], 0, 0.05, 10) == "█" * 10
    assert row_cells([], [(0, 1)], 0, 0.05, 4) == "····"  # blocked on purpose, not waiting for the GIL


async def test_gil_rows_interlock_and_free_threaded_rows_run_side_by_side() -> None:
    engine = FakeEngine(timed=True)
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_target(pilot, app, "1")
        assert app.dashboard.query_one("#timeline-box").has_class(
            "-timeline"
        )  # the timeline replaced the lanes
        w0, w1 = rows(app)[0][4:], rows(app)[1][4:]
        assert "█" in w0 and "█" in w1
        # Never both on the CPU in the same cell: the zipper.
        assert not any(a == "█" and b == "█" for a, b in zip(w0, w1, strict=True))
        figures = app.dashboard.query_one(TimelineFigures).plain_text
        assert "overlap 0%" in figures and "median slice 5.0ms" in figures
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: app.dashboard.last_result is not None and not app.dashboard.running)
        await wait_for(pilot, lambda: app.dashboard.last_result.target == PY313T)  # type: ignore[union-attr]
        await pilot.pause()
        w0, w1 = rows(app)[0][4:], rows(app)[1][4:]
        assert w0.strip() == "█" * len(w0.strip()) and w1.strip() == "█" * len(w1.strip())
        assert "overlap 100%" in app.dashboard.query_one(TimelineFigures).plain_text


async def test_the_last_window_stays_after_the_run() -> None:
    engine = FakeEngine(timed=True)
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_target(pilot, app, "1")
        before = rows(app)
        await pilot.pause(0.6)  # several ticks later
        assert rows(app) == before and "█" in before[0]


async def test_a_command_that_does_not_time_itself_keeps_the_lanes_and_says_why() -> None:
    engine = FakeEngine(timed=False)
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_target(pilot, app, "1")
        assert not app.dashboard.query_one("#timeline-box").has_class("-timeline")
        title = str(app.dashboard.query_one("#meter-box").border_title)
        assert "thread lanes" in title and "does not time itself" in title


async def test_replay_of_a_timed_recording_draws_the_zipper(tmp_path: Path) -> None:
    from gildash.engine.recording import read_recording
    from gildash.ui.sources import replay_sources

    path = tmp_path / "timed.jsonl"
    with Recorder(path) as recorder:
        spec = RunSpec(PY311, "sum_squares", 2, 1000)
        tap = RunTap(recorder, "rec-1")
        for update in scripted_updates(spec, "rec-1", timed=True):
            tap(update)
    app = make_app(replay_sources(read_recording(path)), replay=path, speed=64)
    async with app.run_test(size=(120, 40)) as pilot:
        await run_target(pilot, app, "1")
        w0, w1 = rows(app)[0][4:], rows(app)[1][4:]
        assert "█" in w0 and "█" in w1
        assert not any(a == "█" and b == "█" for a, b in zip(w0, w1, strict=True))


async def test_timeline_fits_80x24() -> None:
    engine = FakeEngine(timed=True)
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await run_target(pilot, app, "1")
        box = app.dashboard.query_one("#timeline-box")
        assert box.region.height >= 2 + 3 and box.region.bottom <= 23  # both rows and the caption


async def test_the_timeline_stays_on_show_from_one_timed_run_to_the_next() -> None:
    # The -timeline class restyles its boxes when it flips: a timed run after a timed run
    # must not take it off at its start and put it back when its first slices arrive.
    # Nor may the rows change height then: the run's rows are there from its start (a height change is a
    # layout pass of the whole screen, at every run's start and again at its first slices).
    engine = FakeEngine(timed=True)
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await run_target(pilot, app, "1")
        dash = app.dashboard
        box = dash.query_one("#timeline-box")
        assert box.has_class("-timeline")
        timeline = dash.query_one(TimelineRows)
        height = timeline.size.height
        flips: list[bool] = []
        layouts: list[int] = []
        set_class, refresh = box.set_class, timeline.refresh

        def watched(add: bool, *names: str, **kwargs: bool) -> object:
            if "-timeline" in names and add != box.has_class("-timeline"):
                flips.append(add)
            return set_class(add, *names, **kwargs)

        def refreshed(*regions: object, **kwargs: bool) -> object:
            if kwargs.get("layout"):
                layouts.append(len(timeline.lines))
            return refresh(*regions, **kwargs)  # type: ignore[arg-type]

        box.set_class = watched  # type: ignore[method-assign]
        timeline.refresh = refreshed  # type: ignore[method-assign]
        engine.delay = 0.02  # updates arrive over ~1 s: the start shows before the first slices
        await pilot.press("r")
        await wait_for(pilot, lambda: dash.running)
        await pilot.pause(0.1)
        assert rows(app)[0].startswith("one row per worker")  # waiting for slices, rows kept
        await wait_for(pilot, lambda: not dash.running and len(engine.runs) == 2, timeout=20)
        await pilot.pause()
        assert flips == []
        assert box.has_class("-timeline")
        assert layouts == []
        assert timeline.size.height == height
