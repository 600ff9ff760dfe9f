"""`s` calibrates each target's size first: the run panel says so during the calibration runs, x stops
the calibration and the sweep, and the sweep then runs at the calibrated sizes. A fake calibrator and
fake runs: nothing spawns a process."""

from __future__ import annotations

from dataclasses import replace

from conftest import wait_for
from fakes import FakeEngine, fake_sources

from gildash.engine.calibrate import Calibration, SizeRun
from gildash.engine.model import RunSpec
from gildash.ui.app import make_app
from gildash.ui.widgets.run_panel import RunPanel

SIZES = {"py3.11": 9_500_000, "py3.13t": 7_800_000, "rust": 1_200_000_000}


async def calibrator(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
    """One 1-thread run at a probe size (the engine's own run), then a fixed size per target."""
    await run(1_000)
    size = SIZES[spec.target.id]
    return Calibration("k", spec.target.id, spec.workload, size, 0.5, 1, 0.0), False


async def test_the_panel_says_what_is_calibrated_and_x_stops_it() -> None:
    engine = FakeEngine(hold=True)  # every run waits for its stop
    app = make_app(replace(fake_sources(engine), calibrate=calibrator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.dashboard.targets))
        await pilot.press("1", "s")
        panel = app.dashboard.query_one(RunPanel)
        await wait_for(pilot, lambda: "calibrating py3.11 (sum_squares), 1 of 3" in panel.plain_text)
        assert [(r.spec.target.id, r.spec.threads, r.spec.size) for r in engine.runs] == [
            ("py3.11", 1, 1_000)
        ]
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.dashboard.running)
        assert len(engine.runs) == 1 and engine.runs[0].stopped  # no sweep run was started
        assert "sweep stopped (0/6 runs)" in panel.plain_text
        assert not app.history.sweeps


async def test_the_sweep_runs_at_the_calibrated_sizes() -> None:
    engine = FakeEngine()
    app = make_app(replace(fake_sources(engine), calibrate=calibrator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.dashboard.targets))
        await pilot.press("1", "s")
        await wait_for(pilot, lambda: not app.dashboard.running and bool(app.history.sweeps), timeout=10)
        calibration, swept = engine.runs[:3], engine.runs[3:]
        assert [(r.spec.threads, r.spec.size) for r in calibration] == [(1, 1_000)] * 3
        assert {(r.spec.target.id, r.spec.size) for r in swept} == set(SIZES.items())
        assert {(p.target_id, p.size) for p in app.history.sweeps[0].points} == set(SIZES.items())
        assert "sweep done (6/6 runs)" in app.dashboard.query_one(RunPanel).plain_text
