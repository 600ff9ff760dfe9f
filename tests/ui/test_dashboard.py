"""The main screen driven by Pilot over fake sources: selection, GIL twin, runs, stop, quit, help, floods."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

from conftest import wait_for
from fakes import (
    CORES,
    PY311,
    PY313T,
    PY313T_GIL,
    RUST,
    FakeEngine,
    FakeRun,
    fake_sources,
    make_result,
    scripted_updates,
)
from textual.widgets import Static

from gildash.engine.model import RunSpec
from gildash.engine.record_tap import RunTap
from gildash.engine.recording import Recorder
from gildash.engine.session import headline_targets
from gildash.ui.app import GildashApp, make_app
from gildash.ui.commands import all_key_actions
from gildash.ui.screens.confirm import ConfirmScreen
from gildash.ui.screens.dashboard import DashboardScreen
from gildash.ui.screens.help import HelpScreen
from gildash.ui.widgets.cores import HISTORY, CoresPanel
from gildash.ui.widgets.gauge import Gauge
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import RunPanel, status_line
from gildash.ui.widgets.targets import TargetsPanel, badge
from gildash.ui.widgets.thread_lanes import ThreadLanes


async def discovered(pilot, app: GildashApp) -> DashboardScreen:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: bool(app.dashboard.targets))
    return app.dashboard


async def finished(pilot, app: GildashApp) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: not app.dashboard.running and app.dashboard.last_result is not None)
    await pilot.pause()


async def test_discovery_lists_targets_with_badges(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        panel = dash.query_one(TargetsPanel)
        rows = [panel.line(i).plain for i in range(len(panel.targets))]
        assert "[GIL]" in rows[0] and rows[0].startswith("1 ▶ py3.11")
        assert "[free-threaded]" in rows[1]
        assert "[GIL forced on]" in rows[2]  # whole at 80 columns too (it was cut there)
        assert "unavailable: not found on PATH" in rows[4]
        assert dash.selection.target == PY311  # the interpreter running gildash is preselected
        assert dash.query_one(Gauge).has_class("-gil")


async def test_select_toggle_gil_twin_and_config_keys(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("2")
        assert dash.selection.target == PY313T
        assert dash.query_one(Gauge).has_class("-ft") and not dash.query_one(Gauge).has_class("-gil")
        await pilot.press("g")
        assert dash.selection.target == PY313T_GIL
        assert dash.query_one(Gauge).has_class("-gil")
        await pilot.press("g")
        assert dash.selection.target == PY313T
        await pilot.press("w", "plus", "plus", "minus", "z", "p")
        spec = dash.selection.spec()
        assert spec is not None
        assert (spec.workload, spec.threads, spec.executor) == ("primes", 3, "process")
        assert spec.size == 2_400_000  # medium -> large
        await pilot.press("9")  # no 9th target: a warning, no crash
        assert dash.selection.target == PY313T


async def test_gil_run_shows_one_core_and_half_lanes(app: GildashApp, engine: FakeEngine) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        assert len(engine.runs) == 1 and engine.runs[0].spec.target == PY311
        assert dash.query_one(Gauge).text == f"1.0 of {CORES} cores"
        assert dash.query_one(ThreadLanes).latest() == [0.5, 0.5]
        panel = dash.query_one(RunPanel)
        assert dict((w, (d, t)) for w, d, t in panel.state.run.progress) == {0: (100, 100), 1: (100, 100)}
        assert panel.status_text.startswith("ok · wall 1.25 s")
        assert app.history.runs[0].target == PY311
        assert not dash.query_one("#run-box").has_class("-running")


async def test_free_threaded_run_fills_both_cores(app: GildashApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("2", "r")
        await finished(pilot, app)
        assert dash.query_one(Gauge).text == f"1.9 of {CORES} cores"
        assert dash.query_one(ThreadLanes).latest() == [1.0, 1.0]
        assert "1.95 cores" in dash.query_one(RunPanel).status_text


async def test_gauge_is_live_while_running(engine: FakeEngine) -> None:
    engine.hold = True
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: dash.query_one(Gauge).value == 1.95)
        assert dash.running and dash.query_one("#run-box").has_class("-running")
        assert dash.query_one(RunPanel).state.run.phase == "running"
        await pilot.press("x")
        await finished(pilot, app)


async def test_stop_calls_run_stop(engine: FakeEngine) -> None:
    engine.hold = True
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(
            pilot, lambda: bool(engine.runs) and dash.query_one(RunPanel).state.run.phase == "running"
        )
        await pilot.press("x")
        await finished(pilot, app)
        assert engine.runs[0].stopped and engine.runs[0].finished
        assert dash.query_one(RunPanel).status_text.startswith("stopped")
        assert dash.query_one("#run-box").has_class("-failed")


async def test_quit_during_run_asks_and_stops(engine: FakeEngine) -> None:
    engine.hold = True
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(engine.runs) and dash.running)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # changed my mind: the run goes on
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert dash.running and not engine.runs[0].stopped
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: engine.runs[0].finished)
    assert engine.runs[0].stopped
    assert app.return_code == 0


async def test_quit_when_idle_exits_without_asking(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_lists_every_binding(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        descriptions = {a.description for a in help_screen.actions}
        expected = {b.description for b in DashboardScreen.BINDINGS if hasattr(b, "description")}
        expected |= {b.description for b in GildashApp.BINDINGS if hasattr(b, "description")}
        assert expected <= descriptions
        assert {"Run", "Stop", "Sweep", "GIL twin", "Quit", "Help", "Charts"} <= descriptions
        rendered = str(help_screen.query_one("#help-table", Static).render())
        assert rendered  # the table renders without error
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dash)
        ids = [a.binding_id for a in all_key_actions(app, dash)]
        assert all(ids) and len(ids) == len(set(ids))


async def test_palette_offers_every_action(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        titles = [c.title for c in app.get_system_commands(dash)]
        for action in all_key_actions(app, dash):
            if action.binding_id.startswith("target.") and action.binding_id[7:].isdigit():
                # Number keys are titled by their target: "Target 2: py3.13t [free-threaded]".
                n = int(action.binding_id[7:])
                if n <= len(dash.targets):
                    assert any(t.startswith(action.description + ":") for t in titles), action
                continue
            assert action.description in titles


async def test_log_flood_does_not_stall(engine: FakeEngine) -> None:
    engine.flood = 50_000
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: not dash.running and dash.last_result is not None, timeout=30)
        await pilot.pause()
        log = dash.query_one(LogView)
        assert log.dropped > 0
        assert log.line_count <= 2000
        assert "dropped" in str(log.border_subtitle)
        assert dash.query_one(Gauge).text == f"1.0 of {CORES} cores"


async def test_malformed_lines_are_flagged(engine: FakeEngine) -> None:
    engine.malformed = 3
    app = make_app(fake_sources(engine))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        assert "3 malformed lines" in dash.query_one(RunPanel).status_text


async def test_tiny_terminal_does_not_crash(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await pilot.resize_terminal(40, 12)
        await finished(pilot, app)
        await pilot.press("question_mark", "escape", "2", "g")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert dash.has_class("-narrow")


async def test_many_cores_use_a_grid() -> None:
    engine = FakeEngine()
    app = make_app(fake_sources(engine, cores=64))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.pause(0.3)
        cores = dash.query_one(CoresPanel)
        assert cores.cores == 64
        rows = [line.split()[0] for line in cores.plain_text.splitlines()[1:]]
        assert rows == ["cpu0-15", "cpu16-31", "cpu32-47", "cpu48-63"]  # every core in a labelled row
        assert len(cores.history(0)) <= HISTORY


async def test_sweep_runs_headline_targets(app: GildashApp, engine: FakeEngine) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: not dash.running and bool(app.history.sweeps), timeout=10)
        sweep = app.history.sweeps[0]
        # py3.11 (selected, GIL), py3.13t (free-threaded), rust; 1..2 threads each.
        assert [(r.spec.target.id, r.spec.threads) for r in engine.runs] == [
            ("py3.11", 1), ("py3.11", 2), ("py3.13t", 1), ("py3.13t", 2), ("rust", 1), ("rust", 2),
        ]  # fmt: skip
        assert len(sweep.points) == 6
        assert "sweep done (6/6 runs)" in dash.query_one(RunPanel).plain_text


def test_headline_targets_skip_rust_for_other_workloads() -> None:
    targets = [PY311, PY313T, PY313T_GIL, RUST]
    assert headline_targets(targets, PY313T_GIL, "sum_squares", "thread") == targets
    assert RUST not in headline_targets(targets, PY311, "io_bound", "thread")
    assert RUST not in headline_targets(targets, PY311, "sum_squares", "process")


def test_badges_and_status_lines() -> None:
    assert badge(PY311) == ("GIL", "gil")
    assert badge(PY313T, reenabled=True) == ("GIL re-enabled at run time!", "reenabled")
    spec = RunSpec(PY313T, "sum_squares", 2)
    text, kind = status_line(make_result(spec, "a", gil_reenabled_by="legacy_ext"))
    assert "GIL re-enabled by module legacy_ext!" in text and kind == "failed"
    text, kind = status_line(make_result(spec, "b", status="crashed", exit_code=3))
    assert text.startswith("crashed: exit code 3")
    text, _ = status_line(make_result(spec, "c", status="timeout"))
    assert text.startswith("timed out")


async def test_reenabled_gil_is_flagged_on_the_target(engine: FakeEngine) -> None:
    def start(spec: RunSpec) -> FakeRun:
        run = engine.start_run(spec)
        run.replace_result(make_result(spec, run.run_id, gil_reenabled_by="legacy_ext"))
        return run

    app = make_app(replace(fake_sources(engine), start_run=start))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("2", "r")
        await finished(pilot, app)
        row = dash.query_one(TargetsPanel).line(1).plain
        assert "GIL re-enabled at run time!" in row
        assert "GIL re-enabled by module legacy_ext!" in dash.query_one(RunPanel).status_text


def write_recording(path: Path) -> None:
    """A two-run recording (GIL then free-threaded) written with the engine's Recorder."""
    with Recorder(path) as recorder:
        for n, target in enumerate((PY311, PY313T)):
            spec = RunSpec(target, "sum_squares", 2, 1000)
            run_id = f"rec-{n}"
            tap = RunTap(recorder, run_id)
            for update in scripted_updates(spec, run_id):
                tap(update)


async def test_replay_plays_recorded_runs(tmp_path: Path) -> None:
    from gildash.engine.recording import read_recording
    from gildash.ui.sources import replay_sources

    path = tmp_path / "talk.jsonl"
    write_recording(path)
    recording = read_recording(path)
    assert len(recording.runs) == 2
    app = make_app(replay_sources(recording), replay=path, speed=0)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        assert [t.id for t in dash.targets] == ["py3.11", "py3.13t"]
        await pilot.press("r")
        await finished(pilot, app)
        assert dash.query_one(Gauge).text == "1.0 of 2 cores"
        assert dash.query_one(CoresPanel).latest == (60.0, 40.0)  # from the recorded core samples
        view = dash.query_one(RunPanel).state.run  # the recorded run's parameters, not the dashboard's
        assert view.spec is not None
        assert (view.spec.workload, view.spec.threads, f"{view.spec.size:,}", view.size_note) == (
            "sum_squares",
            2,
            "1,000",
            "recorded",
        )
        await pilot.press("n")
        await wait_for(pilot, lambda: dash.selection.target == PY313T and not dash.running)
        await pilot.pause()
        assert dash.query_one(Gauge).text == "1.9 of 2 cores"
        assert dash.query_one(ThreadLanes).latest() == [1.0, 1.0]
        assert len(app.history.runs) == 2
        await pilot.press("right_square_bracket", "space", "s")  # speed, pause, sweep refused: no crash


async def test_a_replayed_calibration_run_says_it_was_one(tmp_path: Path) -> None:
    from gildash.engine.recording import read_recording
    from gildash.ui.sources import replay_sources

    path = tmp_path / "sweep.jsonl"
    with Recorder(path) as recorder:
        spec = RunSpec(PY311, "sum_squares", 1, 3_000_000, calibration=True)
        tap = RunTap(recorder, "trial-0")
        for update in scripted_updates(spec, "trial-0"):
            tap(update)
    app = make_app(replay_sources(read_recording(path)), replay=path, speed=0)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        assert "calibration run: finds the sweep's size" in dash.query_one(RunPanel).plain_text
        assert app.history.chart_runs() == []  # a trial is no figure of the session


async def test_live_runs_are_recorded(tmp_path: Path, engine: FakeEngine) -> None:
    from gildash.engine.recording import read_recording

    app = make_app(replace(fake_sources(engine), record_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        await pilot.press("q")
    files = list(tmp_path.glob("*.jsonl"))
    assert len(files) == 1
    runs = read_recording(files[0]).runs
    assert len(runs) == 1 and runs[0].result.effective_cores == 1.0


async def test_charts_and_history_keys(app: GildashApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is not dash  # charts (or a "not available" toast if that screen is absent)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dash)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()


async def test_export_key_writes_the_bundle(app: GildashApp, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        await pilot.press("e")
        exports = tmp_path / "gildash" / "exports"
        await wait_for(pilot, lambda: exports.is_dir() and any(exports.iterdir()))
        folder = next(exports.iterdir())
        await wait_for(pilot, lambda: (folder / "results.md").exists())
        names = {p.name for p in folder.iterdir()}
        assert {"screen.svg", "results.csv", "results.md", "results.json"} <= names
        assert "py3.11" in (folder / "results.md").read_text(encoding="utf-8")


def test_status_line_neutralises_control_characters_and_names_exit_0_errors() -> None:
    spec = RunSpec(target=PY311, workload="sum_squares", threads=2)
    result = replace(make_result(spec, "a"), status="crashed", exit_code=0, message="boom \x1b[2J here")
    text, kind = status_line(result)
    assert "\x1b" not in text and kind == "failed"
    assert text.startswith("error reported: boom")
    reenabled = replace(make_result(spec, "b"), gil_reenabled=True, gil_reenabled_by="evil\x1b[31m")
    assert "\x1b" not in status_line(reenabled)[0]


async def test_gauge_digits_take_the_selected_targets_colour(app: GildashApp) -> None:
    from gildash.ui.widgets.gauge import GaugeDigits

    async with app.run_test(size=(120, 40)) as pilot:
        dash = await discovered(pilot, app)
        digits = dash.query_one(GaugeDigits)

        def ink() -> object:
            return next(seg.style.color for seg in digits.render_line(1) if seg.text.strip() and seg.style)

        await pilot.pause()
        gil = ink()
        await pilot.press("2")
        await pilot.pause()
        ft = ink()
        await pilot.press("1")
        await pilot.pause()
        assert gil != ft and ink() == gil  # cached strips follow the gauge's -gil / -ft classes


async def test_live_runs_record_the_core_samples_the_dashboard_draws(
    tmp_path: Path, engine: FakeEngine
) -> None:
    from gildash.engine.model import CoreSample
    from gildash.engine.recording import read_recording

    engine.delay = 0.15  # a run spanning several 4 Hz ticks
    app = make_app(replace(fake_sources(engine), record_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await discovered(pilot, app)
        await pilot.press("r")
        await finished(pilot, app)
        await pilot.pause(0.6)  # ticks after the end must not add to the finished run
        await pilot.press("q")
    (path,) = tmp_path.glob("*.jsonl")
    (run,) = read_recording(path).runs
    drawn = [u for _t, u in run.items if isinstance(u, CoreSample) and u.percent == (35.0, 70.0)]
    assert len(drawn) >= 2  # the dashboard's own 4 Hz samples (the fake run scripts (60, 40) ones too)
    assert "result" in path.read_text().strip().splitlines()[-1]


async def test_collector_is_on_once_the_first_frame_is_drawn(app: GildashApp) -> None:
    gc.disable()  # as the CLI starts the dashboard
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert gc.isenabled()
    finally:
        gc.enable()
