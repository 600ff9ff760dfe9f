"""Stall detection: no stdout line and no CPU for N seconds is 'stalled' in the run's updates, its result
and a typed warning; output or CPU never is."""

from __future__ import annotations

import asyncio

import pytest
from reliability_support import Observed, drive, hostile_spec

from gildash.engine.model import RunSpec, StallChanged
from gildash.engine.runner import Run
from gildash.engine.stall import StallWatch
from gildash.engine.sweep import stall_warnings


def _run(spec: RunSpec, stall_after_s: float) -> Run:
    return Run(spec, noise_check=False, sample_interval=0.05, stall_after_s=stall_after_s)


def _stalls(obs: Observed) -> list[StallChanged]:
    return [u for u in obs.updates if isinstance(u, StallChanged)]


async def test_silent_idle_workload_is_stalled_in_updates_result_and_warning() -> None:
    obs = await asyncio.wait_for(drive(_run(hostile_spec("sleep_forever", timeout_s=2.0), 0.5)), 20)
    assert obs.result is not None and obs.result.status == "timeout"
    (began,) = _stalls(obs)
    assert began.stalled and began.idle_s >= 0.5
    assert obs.result.stalled_s >= 1.0  # idle from start-up to the 2 s timeout
    assert "stalled: no output and no CPU" in obs.result.message
    (warning,) = stall_warnings([obs.result])
    assert warning.kind == "stalled" and warning.target_id == obs.result.target.id


async def test_a_stall_that_ends_is_reported_begun_and_ended_and_the_run_stays_ok() -> None:
    spec = hostile_spec("stall_then_resume", "--idle", "1.5")
    obs = await asyncio.wait_for(drive(_run(spec, 0.6)), 20)
    assert obs.result is not None and obs.result.status == "ok"
    assert [s.stalled for s in _stalls(obs)] == [True, False]
    assert 0.6 <= obs.result.stalled_s < 2.5
    assert "stalled" not in obs.result.message  # ok runs keep their message; the field and warning say it


@pytest.mark.parametrize("name", ["close_stdout", "flood"])
async def test_cpu_or_output_is_never_stalled(name: str) -> None:
    run = _run(hostile_spec(name, timeout_s=2.0), 0.5)
    obs = await asyncio.wait_for(drive(run), 20)
    assert obs.result is not None
    assert _stalls(obs) == [] and obs.result.stalled_s == 0.0
    assert stall_warnings([obs.result]) == []


def test_stall_watch_folds_output_and_cpu() -> None:
    watch = StallWatch(1.0)
    assert watch.sample(0.5, 0.0) is None
    began = watch.sample(1.2, 0.0)
    assert began is not None and began.stalled and began.idle_s == pytest.approx(1.2)
    assert watch.sample(1.5, 0.0) is None  # still stalled: one begin only
    ended = watch.sample(2.0, 0.9)  # CPU came back
    assert ended is not None and not ended.stalled and watch.longest_s == pytest.approx(2.0)
    assert watch.output(2.5) is None
    assert watch.sample(3.0, 0.0) is None  # 0.5 s since the line
