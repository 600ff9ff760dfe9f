"""Sweep planning, aggregation, speedup baselines, Amdahl fits, warnings and the async driver.

Also home of the hand-made Target/RunResult builders the export/history/CLI tests import.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gildash.engine.machine import CpuFacts, MachineFacts
from gildash.engine.model import RunResult, RunSpec, Scaling, SweepPlan, SweepResult, Target
from gildash.engine.sweep import (
    amdahl_speedup,
    collect_warnings,
    fit_amdahl,
    plan_runs,
    recorded_sweeps,
    run_sweep,
    summarize,
    sweep_warnings,
)

_ids = itertools.count(1)


def make_target(target_id: str) -> Target:
    """A Target with the given id; 'rust' is the native kind, ids ending in t are free-threaded."""
    if target_id == "rust":
        return Target(id="rust", label="Rust std::thread", executable="/x/rust_cpu_bench", kind="rust")
    free = target_id.endswith("t")
    return Target(
        id=target_id,
        label=f"CPython {target_id}",
        executable=f"/x/{target_id}",
        kind="python",
        free_threaded=free,
        gil_enabled=not free,
    )


def make_run(
    target_id: str,
    threads: int,
    wall: float | None,
    *,
    status: str = "ok",
    scaling: Scaling = "strong",
    workload: str = "sum_squares",
    **overrides: Any,
) -> RunResult:
    """A finished RunResult built by hand; any status but ok makes ok False."""
    gil = target_id != "rust" and not target_id.endswith("t")
    fields: dict[str, Any] = dict(
        run_id=f"r{next(_ids)}",
        workload=workload,
        target=make_target(target_id),
        threads=threads,
        size=1000,
        executor="thread",
        scaling=scaling,
        status=status,
        wall_s=wall,
        harness_wall_s=(wall or 0.0) + 5.0,
        cpu_user_s=None if wall is None else wall * threads,
        cpu_sys_s=0.01,
        effective_cores=None if wall is None else float(threads),
        ok=status == "ok",
        exit_code=0 if status == "ok" else 1,
        signal=None,
        noisy=False,
        gil_enabled_start=gil,
        gil_enabled_end=gil,
        gil_reenabled=False,
        gil_reenabled_by=None,
        malformed_lines=0,
        truncated_lines=0,
        stderr_tail="",
        message="finished" if status == "ok" else f"run {status}",
        started_at=1_700_000_000.0,
    )
    fields.update(overrides)
    return RunResult(**fields)


def point(result: SweepResult, target_id: str, threads: int) -> Any:
    (found,) = [p for p in result.points if p.target_id == target_id and p.threads == threads]
    return found


# ------------------------------------------------------------------------------------------ summarize


def test_speedup_uses_each_targets_own_one_thread_baseline() -> None:
    runs = [
        make_run("py3.11", 1, 10.0),
        make_run("py3.11", 2, 5.0),
        make_run("py3.13t", 1, 4.0),
        make_run("py3.13t", 2, 2.5),
    ]
    result = summarize("sum_squares", "strong", runs)
    assert point(result, "py3.11", 2).speedup == pytest.approx(2.0)
    # B's speedup must come from B's own t1 (4.0 / 2.5), never from A's (10.0 / 2.5 = 4).
    assert point(result, "py3.13t", 2).speedup == pytest.approx(1.6)
    assert point(result, "py3.13t", 2).efficiency == pytest.approx(0.8)
    assert point(result, "py3.13t", 1).speedup == pytest.approx(1.0)


def test_weak_scaling_speedup_counts_the_extra_work() -> None:
    runs = [make_run("py3.13t", 1, 1.0, scaling="weak"), make_run("py3.13t", 4, 1.25, scaling="weak")]
    result = summarize("sum_squares", "weak", runs)
    assert point(result, "py3.13t", 4).speedup == pytest.approx(4 * 1.0 / 1.25)
    assert point(result, "py3.13t", 4).efficiency == pytest.approx(0.8)


@pytest.mark.parametrize("scaling", ["strong", "none"])
def test_strong_and_none_scaling_speedup_is_t1_over_tn(scaling: Scaling) -> None:
    runs = [make_run("py3.11", 1, 3.0, scaling=scaling), make_run("py3.11", 4, 1.5, scaling=scaling)]
    result = summarize("w", scaling, runs)
    assert point(result, "py3.11", 4).speedup == pytest.approx(2.0)
    assert point(result, "py3.11", 4).efficiency == pytest.approx(0.5)


def test_point_statistics_and_failed_repeats_excluded() -> None:
    runs = [
        make_run("py3.11", 1, 2.0),
        make_run("py3.11", 2, 1.0, effective_cores=1.8, cpu_user_s=2.0),
        make_run("py3.11", 2, 99.0, status="failed"),
        make_run("py3.11", 2, 1.2, effective_cores=1.6, cpu_user_s=3.0),
        make_run("py3.11", 2, 1.4, effective_cores=1.9, cpu_user_s=4.0),
    ]
    p = point(summarize("w", "strong", runs), "py3.11", 2)
    assert p.walls == (1.0, 1.2, 1.4)
    assert p.median_s == pytest.approx(1.2)
    assert (p.min_s, p.max_s) == (1.0, 1.4)
    assert p.mean_s == pytest.approx(1.2)
    assert p.stddev_s == pytest.approx(0.2)
    assert p.effective_cores == pytest.approx(1.8)
    assert p.user_s == pytest.approx(3.0)
    assert p.ok is False  # one repeat failed: flagged even though the others time the point
    assert p.speedup == pytest.approx(2.0 / 1.2)


def test_point_with_no_passing_repeat_has_no_numbers() -> None:
    runs = [make_run("py3.11", 1, 2.0), make_run("py3.11", 2, None, status="crashed")]
    p = point(summarize("w", "strong", runs), "py3.11", 2)
    assert p.ok is False
    assert p.walls == ()
    assert math.isnan(p.median_s)
    assert p.speedup is None and p.efficiency is None and p.vs_rust is None


def test_missing_one_thread_point_means_no_speedup() -> None:
    runs = [make_run("py3.11", 1, 2.0), make_run("py3.13t", 2, 1.0), make_run("py3.13t", 4, 0.6)]
    result = summarize("w", "strong", runs)
    assert point(result, "py3.13t", 2).speedup is None
    assert point(result, "py3.13t", 4).efficiency is None
    kinds = [w.kind for w in collect_warnings(result, cores=8)]
    assert "no-baseline" in kinds


def test_failed_one_thread_point_is_not_a_baseline() -> None:
    runs = [make_run("py3.11", 1, 2.0, status="timeout"), make_run("py3.11", 2, 1.0)]
    assert point(summarize("w", "strong", runs), "py3.11", 2).speedup is None


def test_vs_rust_only_where_rust_has_the_point() -> None:
    runs = [
        make_run("rust", 1, 0.5),
        make_run("rust", 2, 0.25),
        make_run("py3.11", 1, 2.0),
        make_run("py3.11", 2, 2.0),
        make_run("py3.11", 4, 2.0),
    ]
    result = summarize("w", "strong", runs)
    assert point(result, "py3.11", 1).vs_rust == pytest.approx(4.0)
    assert point(result, "py3.11", 2).vs_rust == pytest.approx(8.0)
    assert point(result, "py3.11", 4).vs_rust is None
    assert point(result, "rust", 2).vs_rust == pytest.approx(1.0)
    assert summarize("w", "strong", runs[2:]).points[0].vs_rust is None


def test_vs_rust_compares_time_per_unit_of_work_at_calibrated_sizes() -> None:
    # weak scaling: Python ran 2 M per worker, Rust 500 M per worker; 2-thread runs did twice the units
    runs = [
        make_run("py3.13t", 1, 0.5, scaling="weak", size=2_000_000),
        make_run("py3.13t", 2, 0.5, scaling="weak", size=2_000_000),
        make_run("rust", 1, 0.5, scaling="weak", size=500_000_000),
        make_run("rust", 2, 0.5, scaling="weak", size=500_000_000),
    ]
    result = summarize("sum_squares", "weak", runs)
    py2, rust2 = point(result, "py3.13t", 2), point(result, "rust", 2)
    assert py2.unit_s == pytest.approx(0.5 / 4_000_000) and rust2.unit_s == pytest.approx(0.5 / 1e9)
    # equal walls, but Rust did 250 times the work in them: Python is 250x slower, not 1x
    assert py2.vs_rust == pytest.approx(250.0) and point(result, "py3.13t", 1).vs_rust == pytest.approx(250.0)
    assert py2.size == 2_000_000 and py2.speedup == pytest.approx(2.0)


def test_strong_scaling_units_are_the_total_size() -> None:
    runs = [make_run("py3.11", 2, 2.0, size=1000), make_run("rust", 2, 0.01, size=100_000)]
    result = summarize("primes", "strong", runs)
    assert point(result, "py3.11", 2).unit_s == pytest.approx(2.0 / 1000)
    assert point(result, "py3.11", 2).vs_rust == pytest.approx((2.0 / 1000) / (0.01 / 100_000))


def test_unknown_size_gives_no_per_unit_comparison() -> None:
    runs = [make_run("py3.11", 1, 2.0, size=None), make_run("rust", 1, 0.5)]
    p = point(summarize("w", "strong", runs), "py3.11", 1)
    assert p.unit_s is None and p.vs_rust is None and p.size is None
    assert not math.isnan(p.median_s)


def test_speedup_per_unit_when_the_one_thread_size_differs() -> None:
    runs = [
        make_run("py3.13t", 1, 0.25, scaling="weak", size=1000),
        make_run("py3.13t", 2, 1.0, scaling="weak", size=2000),
    ]
    # 1 thread: 0.25 ms per unit; 2 threads: 1.0 s for 4000 units, 0.25 ms per unit: 1x, not 0.5x
    assert point(summarize("w", "weak", runs), "py3.13t", 2).speedup == pytest.approx(1.0)


def test_mixed_sizes_within_a_point_have_no_single_size() -> None:
    runs = [make_run("py3.11", 1, 1.0, size=1000), make_run("py3.11", 1, 2.0, size=2000)]
    p = point(summarize("w", "strong", runs), "py3.11", 1)
    assert p.size is None and p.unit_s == pytest.approx(1.0 / 1000)


def test_points_keep_target_order_and_ascending_threads() -> None:
    runs = [make_run("b", 4, 1.0), make_run("a", 1, 1.0), make_run("b", 1, 1.0), make_run("a", 2, 1.0)]
    result = summarize("w", "strong", runs)
    assert [(p.target_id, p.threads) for p in result.points] == [("b", 1), ("b", 4), ("a", 1), ("a", 2)]


@given(
    t1=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
    tn=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
    n=st.integers(min_value=2, max_value=1024),
)
def test_property_strong_speedup_times_tn_is_t1(t1: float, tn: float, n: int) -> None:
    result = summarize("w", "strong", [make_run("py", 1, t1), make_run("py", n, tn)])
    p = point(result, "py", n)
    assert p.speedup * tn == pytest.approx(t1, rel=1e-9)
    assert p.efficiency * n == pytest.approx(p.speedup, rel=1e-9)


# --------------------------------------------------------------------------------------------- Amdahl


def test_amdahl_fit_recovers_serial_fraction() -> None:
    points = [(n, amdahl_speedup(0.1, n)) for n in (1, 2, 4, 8)]
    fit = fit_amdahl("py3.13t", points)
    assert fit is not None
    assert fit.serial_fraction == pytest.approx(0.1, abs=1e-9)
    assert fit.rmse == pytest.approx(0.0, abs=1e-9)
    assert fit.points == 4


def test_amdahl_fit_with_noise_is_close() -> None:
    points = [(1, 1.0), (2, amdahl_speedup(0.3, 2) * 1.02), (4, amdahl_speedup(0.3, 4) * 0.98)]
    fit = fit_amdahl("x", points)
    assert fit is not None
    assert 0.25 < fit.serial_fraction < 0.35
    assert fit.rmse > 0


def test_amdahl_fit_needs_three_points() -> None:
    assert fit_amdahl("x", []) is None
    assert fit_amdahl("x", [(1, 1.0), (2, 1.8)]) is None
    assert fit_amdahl("x", [(2, 1.8), (2, 1.7), (1, 1.0)]) is None  # three points, two thread counts


def test_amdahl_fit_clamps() -> None:
    superlinear = fit_amdahl("x", [(1, 1.0), (2, 2.5), (4, 6.0)])
    assert superlinear is not None and superlinear.serial_fraction == 0.0
    slower = fit_amdahl("x", [(1, 1.0), (2, 0.5), (4, 0.3)])
    assert slower is not None and slower.serial_fraction == 1.0


def test_summarize_fits_targets_with_enough_points() -> None:
    runs = [make_run("a", n, 1.0 / amdahl_speedup(0.2, n)) for n in (1, 2, 4)]
    runs += [make_run("b", n, 1.0) for n in (1, 2)]
    result = summarize("w", "strong", runs)
    assert [f.target_id for f in result.fits] == ["a"]
    assert result.fits[0].serial_fraction == pytest.approx(0.2)


# ----------------------------------------------------------------------------------------------- plan


def _plan(**kw: Any) -> SweepPlan:
    base: dict[str, Any] = dict(
        workload="sum_squares",
        targets=(make_target("py3.11"), make_target("py3.13t")),
        threads=(1, 2, 4),
        repeat=2,
    )
    base.update(kw)
    return SweepPlan(**base)


def test_plan_interleaves_repeats_across_thread_counts() -> None:
    order = [(s.target.id, s.threads, w) for s, w in plan_runs(_plan(warmup=True))]
    assert order == [
        ("py3.11", 4, True),
        ("py3.11", 1, False),
        ("py3.11", 2, False),
        ("py3.11", 4, False),
        ("py3.11", 1, False),
        ("py3.11", 2, False),
        ("py3.11", 4, False),
        ("py3.13t", 4, True),
        ("py3.13t", 1, False),
        ("py3.13t", 2, False),
        ("py3.13t", 4, False),
        ("py3.13t", 1, False),
        ("py3.13t", 2, False),
        ("py3.13t", 4, False),
    ]


def test_plan_runs_each_listed_target_at_its_own_size() -> None:
    plan = _plan(size=5000, sizes=(("py3.13t", 7_000_000), ("rust", 1)), threads=(1, 2), repeat=1)
    by_target = {(spec.target.id, spec.threads): spec.size for spec, _ in plan_runs(plan)}
    assert by_target == {
        ("py3.11", 1): 5000,
        ("py3.11", 2): 5000,
        ("py3.13t", 1): 7_000_000,
        ("py3.13t", 2): 7_000_000,
    }


def test_plan_passes_run_parameters() -> None:
    spec, warmup = plan_runs(_plan(size=123, executor="process", timeout_s=9.0, threads=(2, 1, 2)))[0]
    assert spec == RunSpec(
        target=make_target("py3.11"),
        workload="sum_squares",
        threads=1,
        size=123,
        executor="process",
        timeout_s=9.0,
    )
    assert warmup is False
    assert len(plan_runs(_plan(threads=(2, 1, 2)))) == 2 * 2 * 2  # duplicates dropped


# --------------------------------------------------------------------------------------------- driver


def _fake_run_fn(calls: list[RunSpec]) -> Any:
    async def run_fn(spec: RunSpec) -> RunResult:
        calls.append(spec)
        await asyncio.sleep(0)
        return make_run(spec.target.id, spec.threads, 1.0 / spec.threads, scaling="weak")

    return run_fn


async def test_run_sweep_yields_after_each_run_with_growing_partials() -> None:
    plan = _plan(warmup=True, repeat=1, threads=(1, 2))
    calls: list[RunSpec] = []
    steps = [step async for step in run_sweep(plan, _fake_run_fn(calls))]
    total = len(plan_runs(plan))
    assert [s.done for s in steps] == list(range(1, total + 1))
    assert all(s.total == total for s in steps)
    assert [s.warmup for s in steps] == [True, False, False, True, False, False]
    assert [len(s.partial.points) for s in steps] == [0, 1, 2, 2, 3, 4]
    last = steps[-1].partial
    assert last.scaling == "weak"
    assert len(last.runs) == total
    assert set(last.warmup_run_ids) == {steps[0].run.run_id, steps[3].run.run_id}
    # Warm-ups are not measured: the 2-thread point has one wall although two 2-thread runs happened.
    assert point(last, "py3.11", 2).walls == (0.5,)
    assert [(c.target.id, c.threads) for c in calls] == [(s.target.id, s.threads) for s, _ in plan_runs(plan)]


async def test_cancelling_the_consumer_cancels_the_run_in_flight() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()
    calls = 0

    async def run_fn(spec: RunSpec) -> RunResult:
        nonlocal calls
        calls += 1
        if calls == 2:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return make_run(spec.target.id, spec.threads, 1.0)

    seen: list[int] = []

    async def consume() -> None:
        async for step in run_sweep(_plan(), run_fn):
            seen.append(step.done)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()
    assert seen == [1]
    assert calls == 2


async def test_stopping_iteration_runs_nothing_more() -> None:
    calls: list[RunSpec] = []
    agen = run_sweep(_plan(), _fake_run_fn(calls))
    async for step in agen:
        if step.done == 2:
            break
    await agen.aclose()  # type: ignore[attr-defined]
    assert len(calls) == 2


# ------------------------------------------------------------------------------------------- warnings


def test_warnings_are_typed_and_say_what_to_do() -> None:
    runs = [
        make_run("py3.13t", 1, 1.0, gil_reenabled=True, gil_reenabled_by="_legacy_ext"),
        make_run("py3.13t", 4, 1.0, noisy=True),
        make_run("py3.11", 1, 1.0, noisy=True),
        make_run("py3.11", 1, 1.3),
        make_run("py3.11", 4, None, status="crashed", message="exit -11"),
    ]
    result = summarize("w", "strong", runs)
    warnings = collect_warnings(result, cores=2)
    by_kind = {w.kind: w.message for w in warnings}
    assert by_kind["gil-reenabled"] == (
        "py3.13t ran with the GIL re-enabled at run time (by module _legacy_ext): its numbers are GIL numbers"
    )
    assert by_kind["noisy"].startswith("noisy machine during 2 runs: other processes used > 10 % of a core")
    assert by_kind["high-variance"].startswith(
        "high variance at py3.11×1 (stddev 18 % of mean): use --repeat 5"
    )
    assert by_kind["oversubscribed"] == "threads 4 > 2 cores: oversubscribed, expect no further speedup"
    assert "py3.11×4: 1 of 1 runs did not pass (exit -11)" in by_kind["failed"]
    assert sweep_warnings(result, cores=2) == [w.message for w in warnings]


def test_short_runs_are_flagged_once() -> None:
    runs = [make_run("rust", 1, 0.0004), make_run("rust", 2, 0.0002), make_run("py3.11", 1, 0.01)]
    warnings = [w for w in collect_warnings(summarize("w", "strong", runs), cores=2) if w.kind == "too-short"]
    assert [w.message for w in warnings] == [
        "short runs (shortest: rust×2, 0.2 ms): timings under 50 ms are mostly noise; use a larger --size"
    ]


def test_clean_sweep_has_no_warnings() -> None:
    runs = [make_run("py3.11", n, 1.0) for n in (1, 2)]
    assert sweep_warnings(summarize("w", "strong", runs), cores=2) == []


def test_warmup_failure_is_not_counted_as_a_measured_failure() -> None:
    warm = make_run("py3.11", 2, None, status="crashed")
    runs = [make_run("py3.11", 1, 1.0), make_run("py3.11", 2, 0.6)]
    result = summarize("w", "strong", runs)
    result = SweepResult(
        workload=result.workload,
        scaling=result.scaling,
        points=result.points,
        fits=result.fits,
        runs=(warm, *runs),
        warmup_run_ids=(warm.run_id,),
    )
    assert [w.kind for w in collect_warnings(result, cores=2)] == []


def test_headless_modules_never_import_textual() -> None:
    code = (
        "import sys, gildash.engine.sweep, gildash.engine.export, gildash.engine.history\n"
        "import gildash.cli.sweep, gildash.cli.export\n"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_vs_rust_finds_the_native_baseline_by_kind_not_by_id() -> None:
    native = replace(make_target("rust"), id="rust-1.95")
    runs = [make_run("py3.11", 1, 2.0), make_run("rust", 1, 0.5, target=native)]
    assert point(summarize("w", "strong", runs), "py3.11", 1).vs_rust == pytest.approx(4.0)


def test_recorded_sweeps_regroups_runs_by_their_sweep_id() -> None:
    warm = make_run("py3.11", 2, 9.0, sweep_id="a", warmup=True)
    a = [make_run("py3.11", 1, 1.0, sweep_id="a"), make_run("py3.11", 2, 0.5, sweep_id="a")]
    single = make_run("py3.11", 2, 7.0)
    b = [make_run("py3.13t", 1, 2.0, sweep_id="b", workload="primes")]
    first, second = recorded_sweeps([warm, a[0], single, *b, a[1]])
    assert first.runs == (warm, *a) and first.warmup_run_ids == (warm.run_id,)
    assert [(p.threads, p.walls, p.speedup) for p in first.points] == [(1, (1.0,), 1.0), (2, (0.5,), 2.0)]
    assert (second.workload, [p.target_id for p in second.points]) == ("primes", ["py3.13t"])
    assert recorded_sweeps([single]) == []


async def test_run_sweep_stamps_its_id_and_warmups_on_every_spec() -> None:
    seen: list[RunSpec] = []

    async def run_fn(spec: RunSpec) -> RunResult:
        seen.append(spec)
        return make_run(spec.target.id, spec.threads, 1.0)

    async for _ in run_sweep(_plan(warmup=True, targets=(make_target("py3.11"),)), run_fn):
        pass
    assert len({s.sweep_id for s in seen}) == 1 and seen[0].sweep_id
    assert [s.warmup for s in seen] == [True] + [False] * (len(seen) - 1)


def test_plan_passes_the_switch_interval() -> None:
    spec, _ = plan_runs(_plan(switch_interval_s=0.001))[0]
    assert spec.switch_interval_s == 0.001
    spec, _ = plan_runs(_plan())[0]
    assert spec.switch_interval_s is None


# --------------------------------------------------------------------------------- machine warnings


def machine(physical: int, smt: int, *, governor: str | None = None, load: float = 0.1) -> MachineFacts:
    """physical cores x smt logical CPUs, numbered like Linux (siblings c and c + physical)."""
    logical = physical * smt
    cpus = tuple(
        CpuFacts(
            cpu, 0, cpu % physical, tuple(cpu % physical + k * physical for k in range(smt)),
            None, None, governor,
        )
        for cpu in range(logical)
    )  # fmt: skip
    return MachineFacts(
        logical, physical, smt, tuple(range(logical)), "Fake CPU", cpus, (load, 0.0, 0.0), "CPython 3.11",
        "Linux", 0.0,
    )  # fmt: skip


def test_machine_warnings_join_the_sweeps_judged_at_its_widest_thread_count() -> None:
    runs = [make_run("py3.13t", n, 1.0 / n) for n in (1, 2)]
    result = summarize("w", "strong", runs)
    warnings = collect_warnings(result, cores=2, facts=machine(1, 2, governor="powersave"))
    by_kind = {w.kind: w for w in warnings}
    assert list(by_kind) == ["smt-siblings", "governor"]
    assert by_kind["smt-siblings"].message.startswith("2 threads on 1 physical core: ")
    assert by_kind["smt-siblings"].target_id is None  # about the machine, not a target
    assert "governor powersave" in by_kind["governor"].message
    assert collect_warnings(result, cores=2, facts=machine(2, 1, governor="performance")) == []


def test_machine_warnings_come_from_the_facts_the_first_run_recorded() -> None:
    busy = machine(2, 1, load=1.9)
    runs = [make_run("py3.11", 1, 1.0), make_run("py3.11", 2, 1.0, machine=busy)]
    kinds = [w.kind for w in collect_warnings(summarize("w", "strong", runs), cores=2)]
    assert kinds == ["load"]
    # runs without facts (older recordings): nothing is guessed
    plain = [make_run("py3.11", n, 1.0) for n in (1, 2)]
    assert collect_warnings(summarize("w", "strong", plain), cores=2) == []


def test_an_oversubscribed_sweep_is_warned_of_once() -> None:
    runs = [make_run("py3.11", n, 1.0, machine=machine(2, 1)) for n in (1, 2, 4)]
    kinds = [w.kind for w in collect_warnings(summarize("w", "strong", runs), cores=2)]
    assert kinds.count("oversubscribed") == 1


def test_a_target_that_could_not_be_calibrated_is_a_typed_warning_for_each_audience() -> None:
    runs = [make_run("rust", n, 0.5) for n in (1, 2)]
    result = replace(summarize("w", "strong", runs), size_fallbacks=(("rust", "the run at size 5 failed"),))
    (cli,) = collect_warnings(result, cores=2)
    assert cli.kind == "calibration" and cli.target_id == "rust"
    assert cli.message.startswith("rust: no size could be calibrated (the run at size 5 failed): it ran at")
    assert cli.message.endswith("or pass --size")
    (dash,) = collect_warnings(result, cores=2, audience="dashboard")
    assert dash.message.endswith("then sweep again (s)")
