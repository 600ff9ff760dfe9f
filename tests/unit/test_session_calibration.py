"""A sweep calibrates each target's size before its first run: through a fake calibrator (no processes),
shown as runs of their own, stoppable, cached, and falling back to the preset size with a typed warning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gildash.engine.calibrate import (
    Calibration,
    CalibrationCache,
    CalibrationError,
    SizeRun,
    cached_calibration,
    calibrate_plan,
    calibration_flags,
    calibration_specs,
)
from gildash.engine.machine import MachineFacts
from gildash.engine.model import (
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunUpdate,
    SweepPlan,
    SweepProgress,
    SweepResult,
    Target,
)
from gildash.engine.session import RunSession, headline_sweep
from gildash.engine.settings import RunSettings
from gildash.engine.sweep import collect_warnings

PY = Target("py3.11", "CPython 3.11", "/usr/bin/python3.11", "python", "3.11.2", "cpython")
FT = Target("py3.13t", "CPython 3.13t", "/opt/py/bin/python3.13t", "python", "3.13.5", "cpython")
RUST = Target("rust", "Rust std::thread", "/opt/rust_cpu_bench", "rust", "1.75", "rust")
PLAN = SweepPlan("sum_squares", (PY, FT, RUST), (1, 2), size=40_000_000)


def result(spec: RunSpec, run_id: str, *, status: str = "ok", wall: float | None = 0.5) -> RunResult:
    ok = status == "ok"
    return RunResult(
        run_id=run_id, workload=spec.workload, target=spec.target, threads=spec.threads, size=spec.size,
        executor=spec.executor, scaling="weak", status=status,  # type: ignore[arg-type]
        wall_s=wall if ok else None, harness_wall_s=0.6, cpu_user_s=None, cpu_sys_s=None,
        effective_cores=None, ok=ok, exit_code=0 if ok else None, signal=None, noisy=False,
        gil_enabled_start=None, gil_enabled_end=None, gil_reenabled=False, gil_reenabled_by=None,
        malformed_lines=0, truncated_lines=0, stderr_tail="", message="" if ok else f"run {status}",
        sweep_id=spec.sweep_id,
    )  # fmt: skip


class FakeRun:
    """Started, then finished with a wall of `unit_s` per unit of size; `hold` waits for stop()."""

    def __init__(self, spec: RunSpec, run_id: str, unit_s: float, hold: bool) -> None:
        self.spec, self.run_id, self.unit_s, self.hold = spec, run_id, unit_s, hold
        self.stopped = asyncio.Event()

    def stop(self) -> None:
        self.stopped.set()

    async def updates(self) -> AsyncIterator[RunUpdate]:
        yield RunStarted(self.run_id, self.spec, 1, ("x",), False)
        if self.hold:
            await self.stopped.wait()
        if self.stopped.is_set():
            yield RunFinished(result(self.spec, self.run_id, status="stopped"))
            return
        yield RunFinished(result(self.spec, self.run_id, wall=self.unit_s * (self.spec.size or 1)))


class Engine:
    def __init__(self, unit_s: float = 1e-8, hold: bool = False) -> None:
        self.runs: list[FakeRun] = []
        self.unit_s, self.hold = unit_s, hold

    def start_run(self, spec: RunSpec) -> FakeRun:
        run = FakeRun(spec, f"run-{len(self.runs) + 1}", self.unit_s, self.hold)
        self.runs.append(run)
        return run


class Listener:
    def __init__(self) -> None:
        self.pokes = 0
        self.notices: list[str] = []
        self.ended: list[tuple[SweepResult | None, bool]] = []

    def session_poke(self) -> None:
        self.pokes += 1

    def session_sweep_step(self, progress: SweepProgress) -> None:
        pass

    def session_sweep_ended(self, result: SweepResult | None, stopped: bool) -> None:
        self.ended.append((result, stopped))

    def session_notice(self, text: str) -> None:
        self.notices.append(text)


def calibration(spec: RunSpec, size: int, wall: float = 0.4) -> Calibration:
    return Calibration("k-" + spec.target.id, spec.target.id, spec.workload, size, wall, 2, 0.0)


class FakeCalibrator:
    """Answers a fixed size per target without running anything; raises for the ids in `fail`."""

    def __init__(self, sizes: dict[str, int], fail: tuple[str, ...] = ()) -> None:
        self.sizes, self.fail = sizes, fail
        self.asked: list[RunSpec] = []

    async def __call__(self, spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        self.asked.append(spec)
        if spec.target.id in self.fail:
            raise CalibrationError("the run at size 40000000 failed, so no size could be calibrated")
        return calibration(spec, self.sizes[spec.target.id]), False


# --- the plan ----------------------------------------------------------------------------------------


async def test_calibrate_plan_fills_sizes_of_targets_without_their_own() -> None:
    plan = SweepPlan("sum_squares", (PY, FT, RUST), (1, 2), size=40_000_000, sizes=(("py3.13t", 123),))
    fake = FakeCalibrator({"py3.11": 10_000_000, "rust": 900_000_000})
    seen: list[tuple[str, int, int]] = []
    out = await calibrate_plan(
        plan, fake, lambda spec: _never, on_target=lambda spec, i, n: seen.append((spec.target.id, i, n))
    )
    # py3.13t keeps the size it was given; the others start from the plan's size at 1 thread
    assert [(s.target.id, s.threads, s.size) for s in fake.asked] == [
        ("py3.11", 1, 40_000_000),
        ("rust", 1, 40_000_000),
    ]
    assert seen == [("py3.11", 1, 2), ("rust", 2, 2)]
    assert out.plan.sizes == (("py3.11", 10_000_000), ("py3.13t", 123), ("rust", 900_000_000))
    assert out.fallbacks == ()


async def _never(size: int) -> float | None:
    raise AssertionError("the fake calibrator runs nothing")


async def test_a_failed_calibration_falls_back_to_the_plan_size_with_the_reason() -> None:
    out = await calibrate_plan(
        PLAN, FakeCalibrator({"py3.11": 1, "py3.13t": 2}, fail=("rust",)), lambda s: _never
    )
    assert out.plan.sizes == (("py3.11", 1), ("py3.13t", 2))
    assert out.fallbacks == (("rust", "the run at size 40000000 failed, so no size could be calibrated"),)


def test_a_plan_without_a_size_calibrates_nothing() -> None:
    # http_server is sized by --duration: there is no --size to calibrate from
    assert calibration_specs(SweepPlan("http_server", (PY,), (1, 2), extra_args=("--duration", "2"))) == []


def test_the_process_executor_is_part_of_the_cache_key_flags() -> None:
    spec = RunSpec(PY, "sum_squares", 1, 10, extra_args=("--x",))
    assert calibration_flags(spec) == ("--x",)
    assert calibration_flags(RunSpec(PY, "sum_squares", 1, 10, "process")) == ("--executor", "process")


async def test_the_real_calibrator_answers_from_its_cache_the_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GILDASH_CACHE_DIR", str(tmp_path))
    sizes: list[int] = []

    async def run(size: int) -> float | None:
        sizes.append(size)
        return size * 1e-7  # 10 M units per second: 4 M units take 0.4 s

    spec = RunSpec(PY, "sum_squares", 1, 4_000_000)
    first, cached = await cached_calibration(spec, run)
    assert (first.size, cached, sizes) == (4_000_000, False, [4_000_000])
    again, cached = await cached_calibration(spec, run)
    assert (again, cached, sizes) == (first, True, [4_000_000])  # no second run
    assert CalibrationCache(tmp_path / "calibration.json").get(first.key) == first


# --- the session -------------------------------------------------------------------------------------


async def test_a_sweep_runs_each_target_at_its_calibrated_size() -> None:
    engine, listener = Engine(), Listener()
    fake = FakeCalibrator({"py3.11": 10_000_000, "py3.13t": 8_000_000, "rust": 900_000_000})
    session = RunSession(engine.start_run, listener, calibrate=fake)
    coro = session.sweep(PLAN)
    assert coro is not None
    final = await coro
    assert final is not None
    assert [(r.spec.target.id, r.spec.threads, r.spec.size) for r in engine.runs] == [
        ("py3.11", 1, 10_000_000), ("py3.11", 2, 10_000_000),
        ("py3.13t", 1, 8_000_000), ("py3.13t", 2, 8_000_000),
        ("rust", 1, 900_000_000), ("rust", 2, 900_000_000),
    ]  # fmt: skip
    assert {(p.target_id, p.size) for p in final.points} == {
        ("py3.11", 10_000_000), ("py3.13t", 8_000_000), ("rust", 900_000_000)
    }  # fmt: skip
    assert final.size_fallbacks == () and listener.notices == []
    assert session.calibrating is None and not session.running


async def test_without_a_calibrator_a_sweep_runs_at_the_plan_size() -> None:
    engine = Engine()
    coro = RunSession(engine.start_run, Listener()).sweep(PLAN)
    assert coro is not None
    await coro
    assert {r.spec.size for r in engine.runs} == {40_000_000}


async def test_calibration_runs_are_the_sessions_own_runs_and_say_what_they_are() -> None:
    engine, listener = Engine(unit_s=1e-7), Listener()
    notes: list[tuple[str, str | None]] = []

    async def calibrator(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        wall = await run(3_000_000)  # the session's own run, at 1 thread and this size
        assert wall == pytest.approx(0.3)
        notes.append((session.run_note(engine.runs[-1].run_id), session.calibrating))
        return calibration(spec, 3_000_000, wall or 0.0), False

    session = RunSession(engine.start_run, listener, calibrate=calibrator)
    coro = session.sweep(SweepPlan("sum_squares", (PY, FT), (1, 2), size=40_000_000))
    assert coro is not None
    await coro
    calibration_runs = engine.runs[:2]
    assert [(r.spec.target.id, r.spec.threads, r.spec.size) for r in calibration_runs] == [
        ("py3.11", 1, 3_000_000),
        ("py3.13t", 1, 3_000_000),
    ]
    assert notes == [
        ("calibrating py3.11 (sum_squares), 1 of 2", "calibrating py3.11 (sum_squares), 1 of 2"),
        ("calibrating py3.13t (sum_squares), 2 of 2", "calibrating py3.13t (sum_squares), 2 of 2"),
    ]
    # not sweep runs: no place in the sweep, while the sweep's own runs have one and no note
    assert all(session.sweep_position(r.run_id) is None for r in calibration_runs)
    assert session.sweep_position(engine.runs[2].run_id) == (1, 4)
    assert session.run_note(engine.runs[2].run_id) == ""
    # and marked as trials in their spec, so a recording, a replay and an export still say what they were
    assert all(r.spec.calibration for r in calibration_runs)
    assert not any(r.spec.calibration for r in engine.runs[2:])


async def test_a_failed_calibration_sweeps_at_the_preset_and_warns() -> None:
    engine, listener = Engine(), Listener()
    fake = FakeCalibrator({"py3.11": 10_000_000, "py3.13t": 8_000_000}, fail=("rust",))
    coro = RunSession(engine.start_run, listener, calibrate=fake).sweep(PLAN)
    assert coro is not None
    final = await coro
    assert final is not None
    assert [r.spec.size for r in engine.runs if r.spec.target.id == "rust"] == [40_000_000, 40_000_000]
    assert final.size_fallbacks == (
        ("rust", "the run at size 40000000 failed, so no size could be calibrated"),
    )
    warned = [w for w in collect_warnings(final, cores=2) if w.kind == "calibration"]
    assert len(warned) == 1 and warned[0].target_id == "rust"
    assert "ran at the preset size" in warned[0].message and "--size" in warned[0].message
    assert len(listener.notices) == 1 and listener.notices[0].startswith("rust: no size calibrated")


async def test_stop_during_calibration_ends_the_sweep_before_its_first_run() -> None:
    engine, listener = Engine(), Listener()
    entered = asyncio.Event()

    async def stuck(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        entered.set()
        await asyncio.Event().wait()  # a calibrator that never ends by itself
        raise AssertionError("unreachable")

    session = RunSession(engine.start_run, listener, calibrate=stuck)
    coro = session.sweep(PLAN)
    assert coro is not None
    task = asyncio.ensure_future(coro)
    await asyncio.wait_for(entered.wait(), 2)
    assert session.calibrating == "calibrating py3.11 (sum_squares), 1 of 3"
    session.stop()
    assert await asyncio.wait_for(task, 2) is None
    assert engine.runs == []
    assert listener.ended == [(None, True)]
    assert session.sweep_outcome(True) == "sweep stopped (0/6 runs)"
    assert session.calibrating is None and not session.running


async def test_stop_during_a_calibration_run_stops_that_run_and_the_sweep() -> None:
    engine, listener = Engine(hold=True), Listener()

    async def calibrator(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        await run(1_000)
        raise AssertionError("a stopped calibration goes no further")

    session = RunSession(engine.start_run, listener, calibrate=calibrator)
    coro = session.sweep(PLAN)
    assert coro is not None
    task = asyncio.ensure_future(coro)
    for _ in range(100):
        if engine.runs:
            break
        await asyncio.sleep(0.01)
    session.stop()
    assert await asyncio.wait_for(task, 2) is None
    assert len(engine.runs) == 1 and engine.runs[0].stopped.is_set()
    assert listener.ended == [(None, True)]


async def test_cancelling_the_sweep_during_calibration_cancels_it() -> None:
    entered = asyncio.Event()

    async def stuck(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    listener = Listener()
    session = RunSession(Engine().start_run, listener, calibrate=stuck)
    coro = session.sweep(PLAN)
    assert coro is not None
    task = asyncio.ensure_future(coro)
    await asyncio.wait_for(entered.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listener.ended == [(None, True)] and not session.running


def test_the_headline_sweep_of_contention_runs_the_chosen_variant() -> None:
    settings = RunSettings(workload="contention", variant=("dict", "own"))
    choice = headline_sweep([PY, FT], PY, settings, 2)
    assert choice.plan is not None
    # the variant `v` chose reaches every run, and the calibration cache key with it
    assert choice.plan.extra_args == settings.to_spec(PY).extra_args
    assert ("--pattern", "dict", "--variant", "own") == choice.plan.extra_args[-4:]


def test_the_headline_sweep_runs_at_the_chosen_switch_interval() -> None:
    choice = headline_sweep([PY, FT], PY, RunSettings(switch_interval_s=0.001), 2)
    assert choice.plan is not None and choice.plan.switch_interval_s == 0.001


async def test_the_machine_is_read_before_the_sweep_and_its_warnings_join_the_sweeps() -> None:
    busy = MachineFacts(2, 2, 1, (0, 1), "Fake", (), (1.9, 1.0, 0.5), "CPython", "Linux", 0.0)
    order: list[str] = []

    def read() -> MachineFacts:
        order.append("machine")
        return busy

    async def calibrator(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
        order.append("calibrate " + spec.target.id)
        return calibration(spec, 1_000), True

    session = RunSession(Engine().start_run, Listener(), calibrate=calibrator, machine=read)
    coro = session.sweep(SweepPlan("sum_squares", (PY,), (1, 2), size=40_000_000))
    assert coro is not None
    final = await coro
    assert final is not None and final.machine == busy
    assert order == ["machine", "calibrate py3.11"]  # before its own runs raise the load
    load = [w for w in collect_warnings(final, cores=2) if w.kind == "load"]
    assert len(load) == 1 and load[0].message.startswith("load average 1.9 before the run")
