"""Sweeps: plan the runs, drive them, aggregate repeats into points, speedup/efficiency/Amdahl, warnings.

Pure logic plus one async driver that takes its run function injected; never imports textual and
never spawns anything itself.
"""

from __future__ import annotations

import math
import os
import secrets
import statistics
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from gildash.engine.machine import MachineFacts, machine_warnings
from gildash.engine.model import (
    AmdahlFit,
    RunResult,
    RunSpec,
    Scaling,
    SweepPlan,
    SweepPoint,
    SweepProgress,
    SweepResult,
)

NOISE_CV = 0.10
"""Coefficient of variation (stddev / mean) above which a point is flagged as high variance."""

MIN_FIT_POINTS = 3
"""Thread counts (1 included) an Amdahl fit needs before it is worth showing."""

SHORT_RUN_S = 0.05
"""Walls below this are dominated by start-up jitter and scheduler noise."""

WarningKind = Literal[
    "gil-reenabled",
    "noisy",
    "high-variance",
    "too-short",
    "oversubscribed",
    "failed",
    "no-baseline",
    "stalled",
    "calibration",
    "smt-siblings",
    "governor",
    "load",
]


@dataclass(frozen=True)
class SweepWarning:
    """One typed warning about a sweep's numbers, telling the user what to do."""

    kind: WarningKind
    """What is wrong: gil-reenabled, noisy, high-variance, too-short, oversubscribed, failed, no-baseline,
    stalled, calibration (a size could not be calibrated), or one of the machine's: smt-siblings, governor,
    load."""
    message: str
    """One line for the user, ending with the remedy."""
    target_id: str | None = None
    """Target the warning is about (None for machine-wide warnings)."""


def plan_runs(plan: SweepPlan) -> list[tuple[RunSpec, bool]]:
    """Every run of the sweep in execution order, as (spec, is_warmup).

    Per target: an optional warm-up at the largest thread count, then the repeats interleaved across
    thread counts (repeat 1 of every thread count, then repeat 2, ...). A target listed in plan.sizes
    runs at its own size (a calibrated one), every other target at plan.size.
    """
    threads = sorted(set(plan.threads))
    out: list[tuple[RunSpec, bool]] = []
    sizes = dict(plan.sizes)

    def spec(target_index: int, n: int) -> RunSpec:
        target = plan.targets[target_index]
        return RunSpec(
            target=target,
            workload=plan.workload,
            threads=n,
            size=sizes.get(target.id, plan.size),
            executor=plan.executor,
            timeout_s=plan.timeout_s,
            extra_args=plan.extra_args,
            switch_interval_s=plan.switch_interval_s,
        )

    for i in range(len(plan.targets)):
        if plan.warmup and threads:
            # The widest run touches the most code paths and caches, so it warms the most.
            out.append((spec(i, threads[-1]), True))
        # Interleaved like pyperf/hyperfine's alternating runs: slow drift (thermal throttling, a
        # background job starting) then lands on every thread count alike instead of biasing the
        # later ones, which a "all repeats of N=1, then all of N=2" order would do.
        for _ in range(plan.repeat):
            for n in threads:
                out.append((spec(i, n), False))
    return out


def sweep_scaling(runs: Sequence[RunResult]) -> Scaling:
    """The scaling the workload reported (first run that knows it), else none."""
    for r in runs:
        if r.scaling != "none":
            return r.scaling
    return "none"


async def run_sweep(
    plan: SweepPlan, run_fn: Callable[[RunSpec], Awaitable[RunResult]]
) -> AsyncIterator[SweepProgress]:
    """Run the plan one run at a time, yielding after each run with the partial aggregate.

    Cancellation-safe: the run in flight is awaited directly, so cancelling the consuming task cancels
    it (run_fn must clean up its process on CancelledError); a consumer that stops iterating stops the
    sweep between runs, when nothing is in flight.
    """
    planned = plan_runs(plan)
    # Stamped on every spec so the recording of each run says which sweep it belongs to.
    sweep_id = secrets.token_hex(6)
    every: list[RunResult] = []
    warmup_ids: list[str] = []
    for done, (spec, warmup) in enumerate(planned, start=1):
        result = await run_fn(replace(spec, sweep_id=sweep_id, warmup=warmup))
        every.append(result)
        if warmup:
            warmup_ids.append(result.run_id)
        partial = aggregate(plan.workload, every, warmup_ids)
        yield SweepProgress(done=done, total=len(planned), run=result, warmup=warmup, partial=partial)


def aggregate(workload: str, runs: Sequence[RunResult], warmup_ids: Collection[str] = ()) -> SweepResult:
    """One sweep's SweepResult from its runs (warm-ups among them named by warmup_ids, left out of the
    points): the one aggregation the sweep driver, the session's charts and exports of recordings share."""
    warmups = set(warmup_ids)
    measured = [r for r in runs if r.run_id not in warmups]
    result = summarize(workload, sweep_scaling(measured), measured)
    kept = tuple(r.run_id for r in runs if r.run_id in warmups)
    return replace(result, runs=tuple(runs), warmup_run_ids=kept)


def recorded_sweeps(runs: Sequence[RunResult]) -> list[SweepResult]:
    """The sweeps among recorded runs, regrouped by the sweep id each run carries, in order of first run.

    Runs without a sweep id (single runs, recordings older than the id) belong to none.
    """
    groups: dict[str, list[RunResult]] = {}
    for r in runs:
        if r.sweep_id is not None:
            groups.setdefault(r.sweep_id, []).append(r)
    return [
        aggregate(members[0].workload, members, [r.run_id for r in members if r.warmup])
        for members in groups.values()
    ]


def _timed(run: RunResult) -> bool:
    """Only a run that finished cleanly with its result check passing may contribute a time."""
    return run.status == "ok" and run.ok and run.wall_s is not None and math.isfinite(run.wall_s)


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _speedup(scaling: Scaling, threads: int, t1: float, tn: float) -> float | None:
    if tn <= 0 or t1 <= 0:
        return None
    # Weak scaling: every worker gets the same work, so N workers did N times the 1-thread work.
    return threads * t1 / tn if scaling == "weak" else t1 / tn


def work_units(scaling: Scaling, size: int | None, threads: int) -> int | None:
    """Units of work a run did: size x threads for weak scaling (size is per worker), else size."""
    if size is None or size < 1:
        return None
    return size * threads if scaling == "weak" else size


def unit_seconds(scaling: Scaling, run: RunResult) -> float | None:
    """Wall seconds per unit of work of one timed run (None when its size is unknown)."""
    units = work_units(scaling, run.size, run.threads)
    if units is None or run.wall_s is None or not _timed(run):
        return None
    return run.wall_s / units


def summarize(
    workload: str, scaling: Scaling, runs: Sequence[RunResult], *, rust_id: str | None = None
) -> SweepResult:
    """Aggregate measured runs (warm-ups excluded by the caller) of one workload into sweep points.

    Groups by (target id, threads). Only runs with status ok time a point (wall_s, the workload's own
    barrier-to-end time, never the harness wall); a point whose repeats did not all pass has ok=False,
    and a point with no passing repeat has NaN times and no speedup. Speedup is always against the
    same target's 1-thread point (weak: N*t1/tN, strong and none: t1/tN), computed per unit of work
    when the sizes are known so a different size at 1 thread still compares fairly; a target without a
    passing 1-thread point gets speedup None rather than a borrowed baseline. vs_rust compares time per
    unit of work (wall / (size x threads) for weak scaling, wall / size otherwise) with the rust
    target's at the same thread count, so each target may run at its own calibrated size; None when
    either size is unknown.
    The native baseline is rust_id, else the first target that is_native_baseline.
    """
    if rust_id is None:
        rust_id = next((r.target.id for r in runs if r.target.is_native_baseline), None)
    groups: dict[tuple[str, int], list[RunResult]] = {}
    target_order: list[str] = []
    for r in runs:
        if r.target.id not in target_order:
            target_order.append(r.target.id)
        groups.setdefault((r.target.id, r.threads), []).append(r)

    medians: dict[tuple[str, int], float] = {}
    unit_medians: dict[tuple[str, int], float] = {}
    for key, members in groups.items():
        timed_walls = [r.wall_s for r in members if _timed(r) and r.wall_s is not None]
        if timed_walls:
            medians[key] = statistics.median(timed_walls)
        units = [unit_seconds(scaling, r) for r in members if _timed(r)]
        if units and all(u is not None for u in units):
            unit_medians[key] = statistics.median(u for u in units if u is not None)

    points: list[SweepPoint] = []
    for target_id in target_order:
        for threads in sorted(n for (t, n) in groups if t == target_id):
            members = groups[(target_id, threads)]
            timed = [r for r in members if _timed(r)]
            walls = tuple(r.wall_s for r in timed if r.wall_s is not None)
            median = medians.get((target_id, threads))
            t1 = medians.get((target_id, 1))
            unit = unit_medians.get((target_id, threads))
            unit1 = unit_medians.get((target_id, 1))
            if unit is not None and unit1 is not None and unit > 0:
                # per unit of work, so a 1-thread baseline at another size still compares fairly
                speedup: float | None = unit1 / unit
            else:
                speedup = _speedup(scaling, threads, t1, median) if median is not None and t1 else None
            rust_unit = unit_medians.get((rust_id, threads)) if rust_id is not None else None
            # time per unit of work: targets may run at different (calibrated) sizes
            vs_rust = unit / rust_unit if unit is not None and rust_unit else None
            sizes = {r.size for r in timed}
            cores = [r.effective_cores for r in timed if r.effective_cores is not None]
            nan = math.nan
            points.append(
                SweepPoint(
                    target_id=target_id,
                    threads=threads,
                    walls=walls,
                    median_s=median if median is not None else nan,
                    min_s=min(walls) if walls else nan,
                    max_s=max(walls) if walls else nan,
                    mean_s=statistics.fmean(walls) if walls else nan,
                    stddev_s=statistics.stdev(walls) if len(walls) > 1 else (0.0 if walls else nan),
                    speedup=speedup,
                    efficiency=speedup / threads if speedup is not None else None,
                    vs_rust=vs_rust,
                    effective_cores=statistics.median(cores) if cores else None,
                    user_s=_mean_or_none([r.cpu_user_s for r in timed]),
                    system_s=_mean_or_none([r.cpu_sys_s for r in timed]),
                    ok=len(timed) == len(members),
                    gil_reenabled=any(r.gil_reenabled for r in members),
                    size=sizes.pop() if len(sizes) == 1 else None,
                    unit_s=unit,
                )
            )

    fits: list[AmdahlFit] = []
    for target_id in target_order:
        measured = [(p.threads, p.speedup) for p in points if p.target_id == target_id]
        fit = fit_amdahl(target_id, [(n, s) for n, s in measured if s is not None])
        if fit is not None:
            fits.append(fit)
    return SweepResult(
        workload=workload, scaling=scaling, points=tuple(points), fits=tuple(fits), runs=tuple(runs)
    )


def amdahl_speedup(serial_fraction: float, threads: int) -> float:
    """Amdahl's law: the speedup N workers reach when a fraction s of the work stays serial."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / threads)


def fit_amdahl(target_id: str, points: Sequence[tuple[int, float]]) -> AmdahlFit | None:
    """Least-squares serial fraction s of S(N) = 1 / (s + (1 - s) / N) through measured (N, speedup).

    1/S - 1/N = s * (1 - 1/N) is linear in s, so s = sum(x*y) / sum(x*x) with x = 1 - 1/N and
    y = 1/S - 1/N; clamped to [0, 1]. Needs >= 3 distinct thread counts (1 included), two of them > 1;
    returns None otherwise. For weak-scaling workloads the fit still runs on the measured (scaled)
    speedups with Amdahl's law, not Gustafson's: serial_fraction is then "the Amdahl serial fraction
    that would explain these speedups", which keeps every target and workload on one comparable scale.
    """
    usable = [(n, s) for n, s in points if n >= 1 and s > 0 and math.isfinite(s)]
    distinct = {n for n, _ in usable}
    if len(distinct) < MIN_FIT_POINTS or len([n for n in distinct if n > 1]) < 2:
        return None
    xs = [1.0 - 1.0 / n for n, _ in usable]
    ys = [1.0 / s - 1.0 / n for n, s in usable]
    denom = sum(x * x for x in xs)
    if denom == 0:
        return None
    serial = min(1.0, max(0.0, sum(x * y for x, y in zip(xs, ys, strict=True)) / denom))
    residuals = [s - amdahl_speedup(serial, n) for n, s in usable]
    rmse = math.sqrt(sum(e * e for e in residuals) / len(residuals))
    return AmdahlFit(target_id=target_id, serial_fraction=serial, points=len(usable), rmse=rmse)


def _cores_available() -> int | None:
    """CPUs this process may run on (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def stall_warnings(runs: Sequence[RunResult]) -> list[SweepWarning]:
    """One warning per target whose runs stalled (no output and no CPU for a while)."""
    stalled: dict[str, list[RunResult]] = {}
    for r in runs:
        if r.stalled_s > 0:
            stalled.setdefault(r.target.id, []).append(r)
    return [
        SweepWarning(
            "stalled",
            f"{target_id}: {len(bad)} run(s) stalled (no output and no CPU for up to "
            f"{max(r.stalled_s for r in bad):.1f} s): the workload waits on something (a lock, input, a "
            "child); check its stderr, or set --timeout",
            target_id,
        )
        for target_id, bad in stalled.items()
    ]


Audience = Literal["cli", "dashboard"]
"""Who reads a warning's remedy: a command-line user (flags) or a dashboard user (keys)."""

REMEDIES: dict[str, tuple[str, str]] = {
    "no-baseline": ("include 1 in --threads", "run a 1-worker point (s sweeps from 1)"),
    "repeat": ("use --repeat 5", "rerun the sweep (s) on a quiet machine"),
    "size": ("use a larger --size", "pick a larger size (z)"),
    "calibration": (
        "check that one run of it passes, or pass --size",
        "check that one run of it passes (r), then sweep again (s)",
    ),
}
"""Remedy kind -> (command-line words, dashboard words)."""


def remedy(kind: str, audience: Audience) -> str:
    """The words of a remedy for this audience."""
    cli, dashboard = REMEDIES[kind]
    return cli if audience == "cli" else dashboard


def sweep_machine(result: SweepResult) -> MachineFacts | None:
    """The machine's facts read before the sweep began, else those of its first run that has them."""
    if result.machine is not None:
        return result.machine
    return next((r.machine for r in result.runs if r.machine is not None), None)


def collect_warnings(
    result: SweepResult,
    *,
    cores: int | None = None,
    audience: Audience = "cli",
    facts: MachineFacts | None = None,
) -> list[SweepWarning]:
    """Every typed warning about the sweep's numbers, most serious first.

    facts: the machine the sweep ran on (None: sweep_machine's, if any); its warnings
    (SMT siblings, governor, load) are judged at the sweep's widest thread count.
    """
    warnings: list[SweepWarning] = []
    warmups = set(result.warmup_run_ids)
    runs = result.runs

    reenabled: dict[str, set[str]] = {}
    for r in runs:
        if r.gil_reenabled:
            reenabled.setdefault(r.target.id, set())
            if r.gil_reenabled_by:
                reenabled[r.target.id].add(r.gil_reenabled_by)
    for target_id, modules in reenabled.items():
        by = f" (by module {', '.join(sorted(modules))})" if modules else ""
        warnings.append(
            SweepWarning(
                "gil-reenabled",
                f"{target_id} ran with the GIL re-enabled at run time{by}: its numbers are GIL numbers",
                target_id,
            )
        )

    failed: dict[tuple[str, int], list[RunResult]] = {}
    for r in runs:
        if r.run_id not in warmups and not _timed(r):
            failed.setdefault((r.target.id, r.threads), []).append(r)
    totals: dict[tuple[str, int], int] = {}
    for r in runs:
        if r.run_id not in warmups:
            totals[(r.target.id, r.threads)] = totals.get((r.target.id, r.threads), 0) + 1
    for (target_id, threads), bad in failed.items():
        reason = bad[-1].message or bad[-1].status
        warnings.append(
            SweepWarning(
                "failed",
                f"{target_id}×{threads}: {len(bad)} of {totals[(target_id, threads)]} runs did not pass "
                f"({reason}): excluded from the timings",
                target_id,
            )
        )

    warnings.extend(stall_warnings(runs))

    for target_id, why in result.size_fallbacks:
        warnings.append(
            SweepWarning(
                "calibration",
                f"{target_id}: no size could be calibrated ({why}): it ran at the preset size, so its "
                f"runs may be too short or long to compare; {remedy('calibration', audience)}",
                target_id,
            )
        )

    targets_with_points = {p.target_id for p in result.points}
    with_baseline = {p.target_id for p in result.points if p.threads == 1 and not math.isnan(p.median_s)}
    for target_id in sorted(targets_with_points - with_baseline):
        warnings.append(
            SweepWarning(
                "no-baseline",
                f"{target_id} has no passing 1-thread point: no speedup shown; "
                + remedy("no-baseline", audience),
                target_id,
            )
        )

    noisy = sum(1 for r in runs if r.noisy)
    if noisy:
        plural = "run" if noisy == 1 else "runs"
        warnings.append(
            SweepWarning(
                "noisy",
                f"noisy machine during {noisy} {plural}: other processes used > 10 % of a core; "
                "close them and rerun",
            )
        )

    for p in result.points:
        if len(p.walls) > 1 and p.mean_s > 0 and p.stddev_s / p.mean_s > NOISE_CV:
            advice = remedy("repeat", audience) if len(p.walls) < 5 else "close other programs and rerun"
            warnings.append(
                SweepWarning(
                    "high-variance",
                    f"high variance at {p.target_id}×{p.threads} "
                    f"(stddev {100 * p.stddev_s / p.mean_s:.0f} % of mean): {advice}",
                    p.target_id,
                )
            )

    short = [p for p in result.points if not math.isnan(p.median_s) and p.median_s < SHORT_RUN_S]
    if short:
        low = min(short, key=lambda q: q.median_s)
        where = f"{low.target_id}×{low.threads}, {1000 * low.median_s:.2g} ms"
        warnings.append(
            SweepWarning(
                "too-short",
                f"short runs (shortest: {where}): timings under {1000 * SHORT_RUN_S:.0f} ms "
                "are mostly noise; " + remedy("size", audience),
                low.target_id,
            )
        )

    available = cores if cores is not None else _cores_available()
    if available:
        over = sorted({p.threads for p in result.points if p.threads > available})
        if over:
            listed = ", ".join(str(n) for n in over)
            warnings.append(
                SweepWarning(
                    "oversubscribed",
                    f"threads {listed} > {available} cores: oversubscribed, expect no further speedup",
                )
            )

    machine = facts if facts is not None else sweep_machine(result)
    widest = max((p.threads for p in result.points), default=0)
    if machine is not None and widest:
        said = {w.kind for w in warnings}
        warnings.extend(
            SweepWarning(w.kind, w.message) for w in machine_warnings(machine, widest) if w.kind not in said
        )
    return warnings


def sweep_warnings(result: SweepResult, *, cores: int | None = None) -> list[str]:
    """The warnings' messages, one line each (see collect_warnings for the typed form)."""
    return [w.message for w in collect_warnings(result, cores=cores)]
