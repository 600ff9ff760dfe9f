"""Size calibration against a fake workload on a fake clock: probe, extrapolate, verify, give up, and the
cache keyed by executable identity, environment, workload and flags."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gildash.engine.calibrate import (
    CalibrationCache,
    CalibrationError,
    CalibrationPolicy,
    calibrate,
    calibrated_size,
    calibration_key,
    nice_size,
)
from gildash.engine.model import Target


class FakeWorkload:
    """wall = overhead + cost * size**power on a fake clock that each run advances by its wall."""

    def __init__(self, cost: float, *, overhead: float = 0.0, power: float = 1.0, fail_at: int | None = None):
        self.cost, self.overhead, self.power, self.fail_at = cost, overhead, power, fail_at
        self.now = 1_000.0
        self.sizes: list[int] = []

    def clock(self) -> float:
        return self.now

    async def run(self, size: int) -> float | None:
        self.sizes.append(size)
        if self.fail_at is not None and size >= self.fail_at:
            return None
        wall: float = self.overhead + self.cost * size**self.power
        self.now += wall + 0.3  # interpreter start-up costs clock time too, never wall
        return wall


async def test_small_probes_grow_then_extrapolate_and_verify() -> None:
    fake = FakeWorkload(cost=1e-7)  # 10 M units per second
    size, wall, runs, at = await calibrate(fake.run, start_size=1000, clock=fake.clock)
    # 1000, 10 k and 100 k are too short to trust (< 20 ms); 1 M takes 0.1 s; 5 M verifies at 0.5 s
    assert fake.sizes == [1000, 10_000, 100_000, 1_000_000, 5_000_000]
    assert (size, runs) == (5_000_000, 5) and wall == pytest.approx(0.5)
    assert at == fake.now


async def test_a_first_run_inside_the_window_is_its_own_verification() -> None:
    fake = FakeWorkload(cost=1e-6)
    size, wall, runs, _ = await calibrate(fake.run, start_size=400_000, clock=fake.clock)
    assert (size, runs) == (400_000, 1) and wall == pytest.approx(0.4)


async def test_too_long_a_start_shrinks() -> None:
    fake = FakeWorkload(cost=1e-6)
    size, wall, _, _ = await calibrate(fake.run, start_size=10_000_000, clock=fake.clock)
    assert fake.sizes == [10_000_000, 500_000] and size == 500_000 and wall == pytest.approx(0.5)


async def test_nonlinear_cost_is_re_extrapolated_until_inside_the_window() -> None:
    # superlinear: the linear guess overshoots, the verification falls outside, a second guess lands
    fake = FakeWorkload(cost=1e-9, power=1.5)
    policy = CalibrationPolicy(min_s=0.4, target_s=0.5, max_s=0.6)
    size, wall, runs, _ = await calibrate(fake.run, start_size=10_000, policy=policy, clock=fake.clock)
    assert 0.4 <= wall <= 0.6 and runs > 2
    assert fake.sizes[-1] == size


async def test_start_up_cost_in_short_probes_is_refined_away() -> None:
    # 50 ms of start-up inside every wall: the 0.1 s probe doubles the per-unit cost
    fake = FakeWorkload(cost=1e-7, overhead=0.05)
    size, wall, _, _ = await calibrate(fake.run, start_size=500_000, clock=fake.clock)
    first_verify = fake.sizes[1]
    assert 0.3 <= fake.overhead + fake.cost * first_verify < 0.75 * 0.5  # in the window, yet short
    assert len(fake.sizes) == 3 and size > first_verify
    assert wall == pytest.approx(0.5, rel=0.1)


async def test_a_failed_run_is_an_error_with_its_size() -> None:
    fake = FakeWorkload(cost=1e-7, fail_at=1_000_000)
    with pytest.raises(CalibrationError, match="size 1000000 failed"):
        await calibrate(fake.run, start_size=1000, clock=fake.clock)


async def test_gives_up_after_the_budget_or_the_run_limit() -> None:
    # start-up overhead alone exceeds the window: no size can ever be inside it
    fake = FakeWorkload(cost=1e-9, overhead=3.0)
    with pytest.raises(CalibrationError, match="no size ran within"):
        await calibrate(fake.run, start_size=1000, clock=fake.clock)
    assert len(fake.sizes) <= CalibrationPolicy().max_runs
    slow = FakeWorkload(cost=1e-7)
    tight = CalibrationPolicy(budget_s=0.5)
    with pytest.raises(CalibrationError):
        await calibrate(slow.run, start_size=1000, policy=tight, clock=slow.clock)
    assert len(slow.sizes) == 2  # the clock passed the budget after the second probe


def test_nice_size_keeps_two_significant_digits() -> None:
    assert nice_size(13_670_000) == 14_000_000
    assert nice_size(4_999) == 5_000 and nice_size(87) == 87 and nice_size(0.2) == 1
    assert nice_size(float("inf")) == 1


def _target(tmp_path: Path, **kw: object) -> Target:
    exe = tmp_path / "python3.13t"
    exe.write_text("")
    fields: dict[str, object] = dict(id="py3.13t", label="CPython 3.13t", executable=str(exe), kind="python")
    fields.update(kw)
    fields.setdefault("version", "3.13.5")
    return Target(**fields)  # type: ignore[arg-type]


async def test_cache_hit_skips_calibration_and_keys_separate_what_changes_the_cost(tmp_path: Path) -> None:
    cache = CalibrationCache(tmp_path / "cache" / "calibration.json")
    target = _target(tmp_path)
    fake = FakeWorkload(cost=1e-6)
    cal, cached = await calibrated_size(target, "sum_squares", fake.run, start_size=500_000, cache=cache)
    assert not cached and cal.size == 500_000 and cal.target_id == "py3.13t"
    assert cal.unit_s == pytest.approx(1e-6)
    again, cached = await calibrated_size(target, "sum_squares", fake.run, start_size=1, cache=cache)
    assert cached and again == cal and fake.sizes == [500_000]
    # the +gil twin (same executable, other env), another workload, other flags, another version
    keys = {
        calibration_key(target, "sum_squares"),
        calibration_key(replace(target, env=(("PYTHON_GIL", "1"),)), "sum_squares"),
        calibration_key(target, "primes"),
        calibration_key(target, "contention", ("--pattern", "list")),
        calibration_key(target, "contention", ("--pattern", "dict")),
        calibration_key(replace(target, version="3.13.6"), "sum_squares"),
    }
    assert len(keys) == 6
    _, cached = await calibrated_size(target, "primes", fake.run, start_size=500_000, cache=cache)
    assert not cached
    _, cached = await calibrated_size(
        target, "sum_squares", fake.run, start_size=500_000, cache=cache, refresh=True
    )
    assert not cached and fake.sizes == [500_000] * 3


async def test_a_rebuilt_executable_is_calibrated_again(tmp_path: Path) -> None:
    import os

    target = _target(tmp_path)
    before = calibration_key(target, "sum_squares")
    os.utime(target.executable, ns=(1, 1))
    assert calibration_key(target, "sum_squares") != before


async def test_corrupt_or_foreign_cache_files_are_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    cache = CalibrationCache(path)
    for text in ("{not json", json.dumps([1, 2]), json.dumps({"version": 99, "entries": {}})):
        path.write_text(text)
        assert cache.get("anything") is None
    target = _target(tmp_path)
    key = calibration_key(target, "w")
    bad = {
        "key": key,
        "target_id": "x",
        "workload": "w",
        "size": 0,
        "wall_s": 0.5,
        "runs": 1,
        "measured_at": 0,
    }
    path.write_text(json.dumps({"version": 1, "entries": {key: bad}}))
    assert cache.get(key) is None  # size 0 is not a size
    fake = FakeWorkload(cost=1e-6)
    cal, cached = await calibrated_size(target, "w", fake.run, start_size=500_000, cache=cache)
    assert not cached and cache.get(key) == cal
    cache.forget(key)
    assert cache.get(key) is None


async def test_an_unwritable_cache_still_returns_the_calibration(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = CalibrationCache(blocker / "sub" / "calibration.json")  # parent is a file: mkdir fails
    fake = FakeWorkload(cost=1e-6)
    cal, cached = await calibrated_size(_target(tmp_path), "w", fake.run, start_size=500_000, cache=cache)
    assert not cached and cal.size == 500_000


async def test_runner_size_run_times_one_real_thread_and_reports_failures() -> None:
    import sys

    from gildash.engine.calibrate import runner_size_run
    from gildash.engine.model import RunSpec

    python = Target(id="py", label="test python", executable=sys.executable, kind="python")
    run = runner_size_run(RunSpec(target=python, workload="sum_squares", threads=4, size=1))
    wall = await run(20_000)
    assert wall is not None and 0 < wall < 5
    broken = runner_size_run(RunSpec(target=python, workload="no_such_workload"))
    assert await broken(1000) is None
