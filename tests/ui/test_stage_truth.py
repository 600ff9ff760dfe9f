"""What a speaker's audience reads must be what runs: each test pins a label that once said otherwise.

The run panel names the run on show (its own spec), apart from the selection; processes are called
processes; badges stay readable when selected; statuses never go stale; charts show one sweep at a time
with every warning; a core's bar agrees with its number; the log's keys work after a run; the palette
names targets.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import wait_for
from fakes import PY311, PY313T, PY313T_GIL, RUST, FakeEngine, fake_sources, make_result
from textual.widgets import Static

from gildash.engine.history import SessionHistory
from gildash.engine.model import RunSpec
from gildash.engine.sweep import summarize
from gildash.ui.app import GildashApp, make_app
from gildash.ui.widgets.cores import STRIP_EVERY, CoresPanel
from gildash.ui.widgets.gauge import Gauge
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import RunPanel, status_line
from gildash.ui.widgets.targets import TargetsPanel
from gildash.ui.widgets.thread_lanes import ThreadLanes


def shown_lines(widget: RunPanel | TargetsPanel | CoresPanel) -> list[str]:
    """The widget's rows as drawn on screen (cropped to its width), not as built."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


def run_line(app: GildashApp) -> str:
    """The run panel's row that names the run on show."""
    rows = shown_lines(app.dashboard.query_one(RunPanel))
    return next((r for r in rows if r.startswith("run ")), "")


def next_line(app: GildashApp) -> str:
    """The run panel's row that names the selection."""
    rows = shown_lines(app.dashboard.query_one(RunPanel))
    return next((r for r in rows if r.startswith("next ")), "")


async def discovered(pilot, app: GildashApp) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: bool(app.dashboard.targets))


# --- 1. the run panel names the running target -----------------------------------------------------


async def test_mid_sweep_the_panel_names_the_target_running_not_the_selected(engine: FakeEngine) -> None:
    engine.delay = 0.02
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("1", "s")
        await wait_for(pilot, lambda: len(engine.runs) >= 3 and "py3.13t" in run_line(app), timeout=10)
        assert engine.runs[-1].spec.target == PY313T
        assert "py3.11" not in run_line(app)  # the selection stays on the "next" row
        assert "py3.11" in next_line(app)
        await wait_for(pilot, lambda: not app.dashboard.running and bool(app.history.sweeps), timeout=20)
        await pilot.pause()
        # The sweep's last run was Rust: the final status is Rust's, and the panel says so.
        assert run_line(app).startswith("run   rust")
        assert "1.99 cores" in app.dashboard.query_one(RunPanel).status_text


async def test_changing_the_selection_after_a_run_keeps_the_run_on_show(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: app.dashboard.last_result is not None and not app.dashboard.running)
        await pilot.press("g")
        await pilot.pause()
        assert app.dashboard.selection.target == PY313T_GIL
        assert run_line(app).startswith("run   py3.13t ·")  # not py3.13t+gil
        assert "py3.13t+gil" in next_line(app)
        assert "1.95 cores" in app.dashboard.query_one(RunPanel).status_text
        # The gauge shows the free-threaded run's figure, in the free-threaded colour.
        gauge = app.dashboard.query_one(Gauge)
        assert gauge.has_class("-ft") and not gauge.has_class("-gil")


async def test_demo_sweep_labels_each_run_by_its_own_target(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gildash.ui.drivers.demo.DEMO_PAUSE_S", 0.0)
    engine.delay = 0.01
    app = make_app(fake_sources(engine), demo=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: any(r.spec.target == RUST for r in engine.runs), timeout=20)
        await wait_for(pilot, lambda: run_line(app).startswith("run   rust"), timeout=5)
        assert "py3.13t+gil" not in run_line(app)
        await app.dashboard.runs.stop_and_wait()


# --- 2. processes are named as processes -------------------------------------------------------------


async def test_process_executor_is_visible_and_named(app: GildashApp, engine: FakeEngine) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("p")
        await pilot.pause()
        assert "2 processes" in next_line(app)  # whole at 120 columns, spelled right
        await pilot.press("r")
        await wait_for(pilot, lambda: app.dashboard.last_result is not None and not app.dashboard.running)
        await pilot.pause()
        assert "2 processes" in run_line(app)
        assert "process lanes" in str(app.dashboard.query_one("#meter-box").border_title)
        lanes = app.dashboard.query_one(ThreadLanes).plain_text.splitlines()
        assert lanes[0].startswith("P1") and not any(line.startswith("T") for line in lanes)
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.dashboard.running and bool(app.history.sweeps), timeout=10)
        await pilot.pause()
        # The sweep says it left Rust out, and why.
        assert (
            "without rust: the Rust baseline runs threads only"
            in app.dashboard.query_one(RunPanel).plain_text
        )
        assert all(r.spec.executor == "process" for r in engine.runs)
        await pilot.press("c")
        await pilot.pause()
        chart = app.screen.query_one("#charts-chart")
        assert "Speedup vs processes" in str(chart.render())


# --- 3. badges readable when selected ----------------------------------------------------------------


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_selected_badge_keeps_its_colours(app: GildashApp, theme: str) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        app.theme = theme
        await pilot.pause()
        panel = app.dashboard.query_one(TargetsPanel)

        def badge_style(index: int) -> object:
            row = panel.line(index)
            start = row.plain.index("[")
            spans = [s for s in row.spans if s.start <= start < s.end]
            return row.get_style_at_offset(app.console, start), spans

        selected = badge_style(0)  # py3.11 is selected
        await pilot.press("2")
        await pilot.pause()
        unselected = badge_style(0)
        assert selected == unselected


async def test_gil_forced_badge_is_whole_at_80_columns(app: GildashApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await discovered(pilot, app)
        panel = app.dashboard.query_one(TargetsPanel)
        width = panel.size.width
        # What fits: rows longer than the panel end in "…" where they are cut.
        rows = [panel.line(i).plain[:width] for i in range(len(panel.targets))]
        assert any("py3.13t+gil" in r and "[GIL forced on]" in r for r in rows), rows


# --- 4. no stale status -----------------------------------------------------------------------------


async def test_sweep_done_note_is_gone_at_the_next_run(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.dashboard.running and bool(app.history.sweeps), timeout=10)
        await pilot.pause()
        assert "sweep done (6/6 runs)" in app.dashboard.query_one(RunPanel).plain_text
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.dashboard.running and len(app.history.runs) == 1)
        await pilot.pause()
        assert "sweep done" not in app.dashboard.query_one(RunPanel).plain_text


async def test_a_stopped_run_says_stopped_not_finished(engine: FakeEngine) -> None:
    engine.hold = True
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(engine.runs) and app.dashboard.running)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.dashboard.running and app.dashboard.last_result is not None)
        await pilot.pause()
        text = app.dashboard.query_one(RunPanel).plain_text
        assert "finished" not in text
        assert text.count("stopped") >= 2  # the state row and the status row agree


async def test_replay_elapsed_stands_still_while_paused(tmp_path: Path) -> None:
    from test_dashboard import write_recording

    from gildash.engine.recording import read_recording
    from gildash.ui.sources import replay_sources

    path = tmp_path / "talk.jsonl"
    write_recording(path)
    now = [100.0]
    sources = replace(replay_sources(read_recording(path)), clock=lambda: now[0])
    app = make_app(sources, replay=path, speed=0.125)  # the 0.8 s run plays for 6.4 s
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.dashboard.run_display.view.phase == "running")
        now[0] += 1.0
        await pilot.pause(0.6)
        await pilot.press("space")
        now[0] += 0.5
        await pilot.pause(0.6)
        paused_at = app.dashboard.run_display.view.elapsed
        assert paused_at == pytest.approx(1.0)
        now[0] += 30.0
        await pilot.pause(1.1)  # a run's frames come once a second: at least one frame drawn meanwhile
        assert app.dashboard.run_display.view.elapsed == paused_at
        await pilot.press("space")
        now[0] += 2.0
        await pilot.pause(1.1)
        assert app.dashboard.run_display.view.elapsed == pytest.approx(3.0)
        await app.dashboard.runs.stop_and_wait()


# --- 5. charts: one sweep at a time, every warning, dashboard words ------------------------------------


def sweep_runs(threads: tuple[int, ...] = (1, 2)) -> list:  # type: ignore[type-arg]
    runs = []
    for target, walls in ((PY311, (0.62, 1.25)), (PY313T, (0.64, 0.66))):
        for n, wall in zip(threads, walls, strict=True):
            runs.append(make_result(RunSpec(target, "sum_squares", n, 1000), f"{target.id}-{n}", wall=wall))
    return runs


async def test_one_off_runs_never_join_the_sweeps_curves() -> None:
    from gildash.ui.screens.charts import ChartsScreen

    history = SessionHistory()
    runs = sweep_runs()
    history.add_sweep(replace(summarize("sum_squares", "weak", runs), runs=tuple(runs)))
    history.add_run(make_result(RunSpec(PY313T_GIL, "sum_squares", 2, 1000), "stray", wall=1.2))
    history.add_run(make_result(RunSpec(PY311, "sum_squares", 8, 1000), "eight", wall=5.0))
    screen = ChartsScreen(history, [PY311, PY313T, PY313T_GIL], cores=2)
    app = make_app(fake_sources(FakeEngine()))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        await pilot.press("left_square_bracket")  # back to the sweep
        await pilot.pause()
        assert screen.sweep is not None
        assert {p.threads for p in screen.sweep.points} == {1, 2}  # the 8-thread one-off is not x=8
        assert {p.target_id for p in screen.sweep.points} == {"py3.11", "py3.13t"}
        warnings = str(screen.query_one("#charts-warnings", Static).render())
        assert "no-baseline" not in warnings  # the stray +gil run is not part of this sweep
        assert "sweep 1" in str(screen.query_one("#charts-caption", Static).render())


async def test_every_warning_is_on_screen_in_dashboard_words() -> None:
    from gildash.ui.screens.charts import ChartsScreen

    runs = [replace(r, noisy=True, wall_s=0.01) for r in sweep_runs()]
    runs += [make_result(RunSpec(PY313T_GIL, "sum_squares", 4, 1000), "over", wall=0.05)]
    history = SessionHistory()
    history.add_sweep(replace(summarize("sum_squares", "weak", runs), runs=tuple(runs)))
    screen = ChartsScreen(history, [PY311, PY313T, PY313T_GIL], cores=2)
    app = make_app(fake_sources(FakeEngine()))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        box = screen.query_one("#charts-warnings", Static)
        text = str(box.render())
        kinds = ["no-baseline", "noisy", "too-short", "oversubscribed"]
        assert all(k in text for k in kinds), text
        assert box.size.height >= text.count("⚠")  # none cut off below the box
        assert "--threads" not in text and "--size" not in text
        assert "(z)" in text


# --- 6. a core's bar agrees with its number; busy is not an alarm ------------------------------------


async def test_core_bar_and_number_are_the_same_second() -> None:
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield CoresPanel(1)

    app = One()
    async with app.run_test(size=(60, 6)) as pilot:
        panel = app.query_one(CoresPanel)
        for _ in range(STRIP_EVERY):
            panel.push((40.0,))
        panel.push((100.0,))
        await pilot.pause()
        row = shown_lines(panel)[1]
        filled = row.count("█")
        bar = filled + row.count("░")
        number = float(row.split("%")[0].split()[-1])
        assert round(number / 100 * bar) == filled, row
        high = panel.get_component_rich_style("cores--high")
        error = app.theme_variables["error"]
        assert high.color is not None and high.color.triplet is not None
        assert high.color.triplet.hex.lower() != error.lower()


# --- 7. the log's keys after a run; the palette names targets ----------------------------------------


async def test_log_keys_scroll_after_a_run(engine: FakeEngine) -> None:
    engine.flood = 300
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.dashboard.running and app.dashboard.last_result is not None)
        await pilot.pause(0.6)
        log = app.dashboard.query_one(LogView)
        bottom = log.scroll_y
        # Textual skips a scroll key unless the widget allows scrolling (tied to a visible scrollbar; this
        # log has none): the key then did nothing on a real terminal.
        assert log.allow_vertical_scroll and log.max_scroll_y > 0
        await pilot.press("pageup")
        await pilot.pause()
        assert log.scroll_y <= bottom - (log.scrollable_content_region.height - 1)
        assert "scrolled back" in str(log.border_subtitle)
        await pilot.press("home")
        await pilot.pause()
        assert log.scroll_y == 0
        await pilot.press("end")
        await pilot.pause()
        assert log.scroll_y == bottom


async def test_log_keys_scroll_lines_that_arrived_after_the_last_layout() -> None:
    """The dashboard never re-lays out mid-run, so lines arrive after the log's last layout pass: Textual's
    scroll permission (tied to a scrollbar this log does not have) stayed "nothing to scroll"."""
    from textual.app import App, ComposeResult

    class One(App[None]):
        CSS = "LogView { height: 10; scrollbar-size-vertical: 0; overflow-x: hidden; }"

        def compose(self) -> ComposeResult:
            yield LogView()

    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(LogView)
        await pilot.pause()  # laid out while empty, as at start-up
        log.add_lines([("out", f"line {i}") for i in range(100)])
        await pilot.pause()
        bottom = log.scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert log.scroll_y < bottom
        await pilot.press("home")
        await pilot.pause()
        assert log.scroll_y == 0


async def test_palette_finds_targets_by_id_and_lists_chart_and_history_keys(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        titles = [c.title for c in app.get_system_commands(app.dashboard)]
        assert any("py3.13t" in t and "free-threaded" in t for t in titles), titles
        assert "Charts: Wall" in titles and "Charts: vs Rust" in titles
        assert "History: Mark to compare" in titles


# --- 8. a workload's headline figure reaches the screen ----------------------------------------------


def test_http_server_requests_per_second_is_in_the_status() -> None:
    spec = RunSpec(PY311, "http_server", 2)
    result = replace(make_result(spec, "h"), metrics={"requests_per_s": 2345.6, "requests": 4691})
    text, _ = status_line(result)
    assert "2,346 requests/s" in text


# --- what the keys choose is what runs ----------------------------------------------------------------


async def test_switch_interval_and_contention_variant_reach_the_run(
    app: GildashApp, engine: FakeEngine
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("i", "i")  # the interpreter's own -> 0.5 ms -> 1 ms
        assert "switch 1 ms" in next_line(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(engine.runs))
        assert engine.runs[-1].spec.switch_interval_s == 0.001
        await wait_for(pilot, lambda: not app.dashboard.running)
        await pilot.press(*"wwwwww")  # to contention
        await pilot.press("v", "v")  # (list, own) -> (list, shared) -> (object, own)
        assert "contention (object, own)" in next_line(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(engine.runs) == 2)
        spec = engine.runs[-1].spec
        assert spec.workload == "contention"
        assert spec.extra_args[-4:] == ("--pattern", "object", "--variant", "own")
        await wait_for(pilot, lambda: not app.dashboard.running)
        await pilot.pause()
        assert "contention (object, own)" in run_line(app)


async def test_a_stalled_run_says_so_on_screen() -> None:
    from fakes import FakeRun, scripted_updates

    from gildash.engine.model import StallChanged

    runs: list[FakeRun] = []

    def start(spec: RunSpec) -> FakeRun:
        updates = scripted_updates(spec, "stall-1")
        run = FakeRun(spec, "stall-1", [*updates[:2], StallChanged(6.0, True, 5.2), updates[-1]], hold=True)
        runs.append(run)
        return run

    app = make_app(replace(fake_sources(FakeEngine()), start_run=start))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: "stalled 5 s" in app.dashboard.query_one(RunPanel).plain_text)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.dashboard.running)


async def test_at_40x12_the_run_panel_is_on_screen(app: GildashApp) -> None:
    async with app.run_test(size=(40, 12)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.dashboard.running and app.dashboard.last_result is not None)
        await pilot.pause()
        panel = app.dashboard.query_one(RunPanel)
        assert panel.region.height >= 4 and panel.region.bottom <= 11
        assert next_line(app).startswith("next  py3.11") and run_line(app).startswith("run   py3.11")
