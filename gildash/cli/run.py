"""`gildash run`: one workload (or custom --cmd) run headless under a target, here or on --host, always
recorded, reported as text or one JSON object. Ctrl-C stops the run, reaps its processes, keeps the
recording and exits 130.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gildash.cli import argtypes, common

if TYPE_CHECKING:
    from gildash.engine.model import RunResult, Target
    from gildash.engine.remote.host import RemoteHost
    from gildash.engine.runner import Run

PROGRESS_EVERY_S = 0.1
"""Seconds between redraws of the progress line."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run`."""
    p = sub.add_parser(
        "run",
        help="run one workload (or --cmd) headless and report wall time, CPU and effective cores",
        description="Run WORKLOAD (or a custom --cmd) once under a target; every run is recorded.",
    )
    p.add_argument("workload", nargs="?", metavar="WORKLOAD", help="workload name (see workloads/)")
    p.add_argument("--target", metavar="ID", help="target id from `gildash targets`, or an interpreter path")
    p.add_argument(
        "--threads", type=argtypes.thread_count, default=None, help="worker count, 1..1024 (default: cores)"
    )
    p.add_argument("--size", type=argtypes.size, default=None, help="work size (default: the workload's own)")
    common.add_run_options(
        p, "sys.setswitchinterval() in the workload, 0 < s <= 1 (default: the interpreter's own)"
    )
    p.add_argument("--record", metavar="FILE", type=Path, default=None, help="append the recording here")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument(
        "--cmd",
        metavar="CMD",
        default=None,
        help="custom command speaking the protocol; {threads}, {size}, {python} are substituted (no shell)",
    )
    # Filled by main() from what follows a lone `--` (flags passed to the workload unchanged).
    p.set_defaults(workload_args=[])
    p.epilog = "After --, flags go to the workload unchanged, e.g. -- --pattern object --variant shared."
    p.add_argument("--no-noise-check", action="store_true", help="skip the 0.3 s idle-machine check")
    common.add_host(p)
    common.add_config(p)
    p.set_defaults(func=common.command(cmd_run))


def _command_target(argv0: str) -> Target:
    """The program a --cmd runs, as a 'command' target (checked now: one line instead of a failed run)."""
    from gildash.engine.model import Target

    found = argv0 if os.sep in argv0 else shutil.which(argv0)
    if found is None or not os.path.isfile(found):
        raise common.UsageError(f"command not found: {argv0}")
    if not os.access(found, os.X_OK):
        raise common.UsageError(f"not executable: {found}")
    return Target(id="custom", label="custom command", executable=os.path.abspath(found), kind="command")


def _custom(args: argparse.Namespace) -> tuple[tuple[str, ...], Target]:
    """--cmd split into argv, and the target it runs under."""
    if args.workload is not None:
        raise common.UsageError("give either WORKLOAD or --cmd, not both")
    try:
        cmd = tuple(shlex.split(args.cmd))
    except ValueError as exc:
        raise common.UsageError(f"cannot split --cmd: {exc}") from None
    if not cmd:
        raise common.UsageError("--cmd is empty")
    command_target = _command_target(cmd[0]) if "{" not in cmd[0] else None
    if args.target is not None or any("{python}" in a for a in cmd):
        return cmd, common.pick_target(args.target, args.config)
    if command_target is None:
        raise common.UsageError(f"cannot tell which program --cmd runs: {cmd[0]!r}")
    return cmd, command_target


def cmd_run(args: argparse.Namespace) -> int:
    """One headless run: a human report or one JSON object; 0 ok, 1 failed, 2 usage or remote failure,
    130 interrupted."""
    host = common.host_of(args)
    if host is not None:
        if args.cmd is not None:
            raise common.UsageError("--cmd runs on this machine only (with --host, name a workload)")
        with common.remote_host(host) as session:
            return _cmd_run(args, session)
    return _cmd_run(args, None)


def _cmd_run(args: argparse.Namespace, session: RemoteHost | None) -> int:
    from gildash.cli.report import render_report, result_json
    from gildash.engine.model import RunSpec
    from gildash.engine.runner import Run, RunSpecError, build_argv

    cmd: tuple[str, ...] | None = None
    if session is not None:
        if args.workload is None:
            from gildash.engine.catalog import WORKLOADS

            raise common.UsageError(f"missing WORKLOAD (choose from: {', '.join(WORKLOADS)})")
        workload = args.workload
        common.check_workload(workload)
        target = common.pick_remote_target(session, args.target)
    elif args.cmd is not None:
        cmd, target = _custom(args)
        workload = "custom"
    else:
        if args.workload is None:
            from gildash.engine.catalog import WORKLOADS

            raise common.UsageError(f"missing WORKLOAD (choose from: {', '.join(WORKLOADS)}) or --cmd")
        workload = args.workload
        common.check_workload(workload)
        target = common.pick_target(args.target, args.config)

    spec = RunSpec(
        target=target,
        workload=workload,
        threads=args.threads
        if args.threads is not None
        else (session.cores if session else os.cpu_count() or 1),
        size=args.size,
        executor=args.executor,
        timeout_s=args.timeout,
        cmd=cmd,
        extra_args=tuple(args.workload_args),
        switch_interval_s=args.switch_interval,
    )
    try:
        build_argv(spec)
    except RunSpecError as exc:
        raise common.UsageError(str(exc)) from None

    where = [target.id] if session is None else [target.id, session.host]
    path = args.record if args.record is not None else common.recording_path(workload, *where)
    if args.record is None:
        common.prune_recordings(args.config, keep=[path])
    recorder = common.open_recorder(path, asked=args.record is not None)
    if recorder is not None:
        common.note(f"recording to {path}")
    if session is not None:
        from gildash.engine.remote.run import RemoteRun

        run: Run = RemoteRun(spec, session, recorder=recorder)
    else:
        run = Run(spec, recorder=recorder, noise_check=not args.no_noise_check)
    try:
        result, interrupted = _drive(run)
    finally:
        if recorder is not None:
            recorder.close()
    if recorder is not None and recorder.error:
        common.note(f"warning: {recorder.error}")
    if session is not None and result.status == "error" and not interrupted:
        # A remote failure (connection lost, agent gone) is one line and exit 2, like failing to connect.
        if args.json:
            print(json.dumps(result_json(result), default=repr))
        common.error(result.message)
        return common.EXIT_USAGE
    if args.json:
        print(json.dumps(result_json(result), default=repr))
    else:
        print(render_report(result))
    if interrupted:
        return common.EXIT_INTERRUPTED
    return common.EXIT_OK if result.ok else common.EXIT_FAILED


def _drive(run: Run) -> tuple[RunResult, bool]:
    """Run to the end with a live progress line; SIGINT/SIGTERM stop it. Returns (result, interrupted)."""
    import asyncio
    import signal

    from gildash.engine.model import EventReceived, ProcSample, ProgressEvent, RunFinished

    interrupted = False
    progress = common.ProgressLine(sys.stderr)

    async def drive() -> RunResult:
        nonlocal interrupted
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            nonlocal interrupted
            interrupted = True
            run.stop()

        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        result: RunResult | None = None
        start = time.monotonic()
        last_draw = 0.0
        cores = 0.0
        done: dict[int, tuple[int, int]] = {}
        spec = run.spec
        try:
            async for update in run.updates():
                if isinstance(update, RunFinished):
                    result = update.result
                elif isinstance(update, ProcSample):
                    cores = update.effective_cores
                elif isinstance(update, EventReceived) and isinstance(update.event, ProgressEvent):
                    done[update.event.worker] = (update.event.done, update.event.total)
                now = time.monotonic()
                if progress.live and now - last_draw > PROGRESS_EVERY_S and result is None:
                    last_draw = now
                    total = sum(t for _, t in done.values())
                    pct = f"  {100 * sum(d for d, _ in done.values()) / total:3.0f}%" if total else ""
                    progress.show(
                        f"{spec.workload} on {spec.target.id} x{spec.threads}  "
                        f"{now - start:5.1f} s  {cores:4.2f} cores{pct}"
                    )
        finally:
            progress.clear()
            for sig in installed:
                loop.remove_signal_handler(sig)
        assert result is not None
        return result

    result = asyncio.run(drive())
    return result, interrupted
