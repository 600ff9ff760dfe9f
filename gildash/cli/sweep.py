"""`gildash sweep`: one workload across targets x thread counts, headless (here or on --host), printed as a
scaling table (or one JSON object) and recorded. Ctrl-C stops the run in flight, prints the partial table
and exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gildash.cli import argtypes, common
from gildash.engine.words import executor_word

if TYPE_CHECKING:
    from gildash.engine.model import RunResult, RunSpec, SweepPlan, SweepResult
    from gildash.engine.remote.host import RemoteHost


def default_threads(cpus: int | None = None) -> tuple[int, ...]:
    """Powers of two up to the machine's CPUs (this one's when None), plus the CPU count: 1,2 on 2 cores."""
    cpus = cpus or os.cpu_count() or 1
    out = {1, cpus}
    n = 2
    while n < cpus:
        out.add(n)
        n *= 2
    return tuple(sorted(out))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `sweep`."""
    p = sub.add_parser(
        "sweep",
        help="run a workload across targets x thread counts and print a scaling table",
        description=(
            "Run WORKLOAD under each target at each thread count (repeats interleaved across thread "
            "counts), then print median/min/max wall, speedup against the same target's 1-thread run, "
            "efficiency, the ratio to the Rust baseline and an Amdahl serial-fraction fit."
        ),
    )
    p.add_argument("workload", help="workload name, e.g. sum_squares or primes")
    p.add_argument(
        "--targets",
        default=None,
        help="comma-separated target ids or interpreter paths, e.g. py3.11,py3.13t,rust (default: all)",
    )
    p.add_argument(
        "--threads",
        type=argtypes.thread_list,
        default=None,
        help="comma-separated thread counts, each 1..1024 (default: powers of two up to the CPU count)",
    )
    p.add_argument(
        "--repeat", type=argtypes.positive_int, default=3, help="measured repeats per point (default 3)"
    )
    p.add_argument(
        "--warmup",
        action="store_true",
        help="one unmeasured warm-up run per target at the largest thread count",
    )
    p.add_argument("--size", type=argtypes.size, default=None, help="workload --size (default: its own)")
    common.add_run_options(
        p, "sys.setswitchinterval() in every Python run, 0 < s <= 1 (default: each interpreter's own)"
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="first find each target's size for a run of about 0.5 s at 1 thread (cached; --size is ignored "
        "for the targets calibrated), so short native runs and slow interpreters are both measurable",
    )
    # Filled by main() from what follows a lone `--` (flags passed to the workload unchanged).
    p.set_defaults(workload_args=[])
    p.epilog = "After --, flags go to the workload unchanged, e.g. -- --pattern object --variant shared."
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of a table")
    p.add_argument("--record", metavar="FILE", default=None, help="append the runs to this recording")
    common.add_host(p)
    common.add_config(p)
    p.set_defaults(func=common.command(cmd_sweep))


@dataclass
class _SweepState:
    """What the driver has seen so far; lives outside asyncio.run so Ctrl-C keeps the partial result."""

    latest: SweepResult | None = None
    runs: list[RunResult] = field(default_factory=list)


class _Progress:
    """The live `[3/12] py3.13t × 2 threads … 0.84 s` line (only on a terminal)."""

    def __init__(self, total: int) -> None:
        self.line = common.ProgressLine(sys.stderr)
        self.total = total
        self.done = 0
        self.current = ""

    def started(self, spec: RunSpec) -> None:
        what = f"{spec.target.id} × {executor_word(spec.executor, spec.threads)}"
        self.current = f"[{self.done + 1}/{self.total}] {what}{' (warm-up)' if spec.warmup else ''} …"
        self.line.show(self.current)

    def finished(self, result: RunResult) -> None:
        self.done += 1
        ok = result.wall_s is not None and result.status == "ok"
        self.line.show(self.current + (f" {result.wall_s:.2f} s" if ok else f" {result.status}"))


async def _drive(
    plan: SweepPlan,
    state: _SweepState,
    execute_kw: dict[str, Any],
    progress: _Progress,
    calibrate: bool = False,
    session: RemoteHost | None = None,
) -> None:
    from gildash.engine.runner import execute
    from gildash.engine.sweep import plan_runs, run_sweep

    if calibrate:
        from gildash.engine.calibrate import cached_calibration, calibrate_plan, runner_size_run

        def told(spec: RunSpec, i: int, n: int) -> None:
            common.note(f"calibrating {spec.target.id} ({spec.workload}), {i} of {n}")

        calibrated = await calibrate_plan(plan, cached_calibration, runner_size_run, on_target=told)
        plan = calibrated.plan
        for cal, cached in calibrated.calibrations:
            common.note(f"size {cal.size:,} ({cal.wall_s:.2f} s at 1 thread{', cached' if cached else ''})")
        for target_id, why in calibrated.fallbacks:
            common.note(f"{target_id}: not calibrated ({why}); it runs at the plan's size")
        progress.total = len(plan_runs(plan))

    async def run_one(spec: RunSpec) -> RunResult:
        progress.started(spec)
        if session is None:
            result = await execute(spec, **execute_kw)
        else:
            result = await _remote_execute(spec, session, execute_kw)
        progress.finished(result)
        return result

    async for step in run_sweep(plan, run_one):
        state.latest = step.partial
        state.runs.append(step.run)


async def _remote_execute(spec: RunSpec, session: RemoteHost, execute_kw: dict[str, Any]) -> RunResult:
    """One run of the sweep on the session's host, drained to its result."""
    from gildash.engine.model import RunFinished
    from gildash.engine.remote.run import RemoteRun

    result: RunResult | None = None
    async for update in RemoteRun(spec, session, **execute_kw).updates():
        if isinstance(update, RunFinished):
            result = update.result
    assert result is not None
    return result


def cmd_sweep(args: argparse.Namespace) -> int:
    """0 when every run passed, 1 when any failed, 2 on usage or remote errors, 130 on Ctrl-C."""
    host = common.host_of(args)
    if host is None:
        return _cmd_sweep(args, None)
    if args.calibrate:
        raise common.UsageError("--calibrate runs on this machine only; give --size with --host")
    with common.remote_host(host) as session:
        return _cmd_sweep(args, session)


def _cmd_sweep(args: argparse.Namespace, session: RemoteHost | None) -> int:
    import asyncio

    from gildash.engine.export import export_json
    from gildash.engine.model import SweepPlan, SweepResult
    from gildash.engine.sweep import plan_runs

    common.tolerant_streams()
    names = [n.strip() for n in args.targets.split(",") if n.strip()] if args.targets else None
    if args.targets is not None and not names:
        raise common.UsageError("--targets is empty; give ids like py3.11,py3.13t,rust")
    common.check_workload(args.workload)
    if session is None:
        targets = common.pick_targets(names, getattr(args, "config", None))
    else:
        targets = common.pick_remote_targets(session, names)
    plan = SweepPlan(
        workload=args.workload,
        targets=tuple(targets),
        threads=args.threads or default_threads(session.cores if session is not None else None),
        repeat=args.repeat,
        warmup=args.warmup,
        size=args.size,
        executor=args.executor,
        timeout_s=args.timeout,
        switch_interval_s=args.switch_interval,
        extra_args=tuple(args.workload_args),
    )
    where = [session.host] if session is not None else []
    record_path = Path(args.record) if args.record else common.recording_path("sweep", args.workload, *where)
    if not args.record:
        common.prune_recordings(getattr(args, "config", None), keep=[record_path])
    recorder = common.open_recorder(record_path, asked=True)

    state = _SweepState()
    progress = _Progress(len(plan_runs(plan)))
    interrupted = False
    try:
        # asyncio.run turns Ctrl-C into cancelling the sweep: the run in flight is cancelled (the runner
        # kills its process group) before KeyboardInterrupt reaches us here.
        asyncio.run(
            _drive(plan, state, {"recorder": recorder}, progress, calibrate=args.calibrate, session=session)
        )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.line.clear()
        close = getattr(recorder, "close", None)  # the tests' stand-in recorder has no close()
        if callable(close):
            close()

    from gildash.cli.report import render_sweep_text

    sweep = state.latest or SweepResult(workload=plan.workload, scaling="none", points=(), fits=())
    sys.stdout.write(export_json(sweep.runs, sweep) if args.json else render_sweep_text(sweep))
    sys.stdout.flush()
    # What reached the file, not what ran: after a full disk the recording holds fewer runs than the table.
    recorded = recorder.runs_recorded if recorder is not None else 0
    missing = len(state.runs) - recorded
    lost = f"; {missing} finished run(s) are not in it" if missing > 0 else ""
    common.note(f"recorded {recorded} run(s) to {record_path}{lost}")
    write_error = getattr(recorder, "error", None)
    if write_error:
        common.note(str(write_error))
    if interrupted:
        common.note(f"interrupted after {len(state.runs)} of {progress.total} runs")
        return common.EXIT_INTERRUPTED
    remote_failure = next((r for r in state.runs if r.status == "error" and r.target.host is not None), None)
    if remote_failure is not None:
        common.error(remote_failure.message)  # one line and exit 2, as when connecting fails
        return common.EXIT_USAGE
    return common.EXIT_OK if all(r.status == "ok" for r in state.runs) else common.EXIT_FAILED
