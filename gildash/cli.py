"""gildash's command line: dashboard (no command), targets, run, replay, demo, python-ft, sweep, export.

Module-level imports stay light (no textual, no psutil) so `gildash --help` is instant; every handler
imports what it needs. User errors are one line `gildash: error: ...` and exit 2; a failed run exits 1;
Ctrl-C stops the run, reaps its processes, keeps the recording and exits 130. No traceback reaches the
user.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from gildash import argtypes

if TYPE_CHECKING:
    from gildash.engine.model import RunResult, Target
    from gildash.engine.runner import Run

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A user mistake: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"gildash: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argparse tree (sweep/export come from cli_report when it is installed)."""
    from gildash import __version__

    parser = _Parser(
        prog="gildash",
        description="A terminal dashboard that makes the GIL visible. Without a command: the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"gildash {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", type=Path, default=None, help="targets config file (TOML)"
    )
    parser.set_defaults(func=cmd_dashboard)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("targets", help="list the interpreters (and Rust baseline) gildash can run")
    p.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    p.add_argument("--config", metavar="PATH", type=Path, default=argparse.SUPPRESS, help="config file")
    p.set_defaults(func=cmd_targets)

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
    p.add_argument("--executor", choices=("thread", "process"), default="thread", help="default: thread")
    p.add_argument("--timeout", type=argtypes.seconds, default=None, metavar="S", help="stop after S seconds")
    p.add_argument("--record", metavar="FILE", type=Path, default=None, help="append the recording here")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument(
        "--cmd",
        metavar="CMD",
        default=None,
        help="custom command speaking the protocol; {threads}, {size}, {python} are substituted (no shell)",
    )
    p.add_argument("--no-noise-check", action="store_true", help="skip the 0.3 s idle-machine check")
    p.add_argument("--config", metavar="PATH", type=Path, default=argparse.SUPPRESS, help="config file")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("replay", help="replay a recording in the dashboard")
    p.add_argument("file", metavar="FILE", type=Path, help="a recording (.jsonl)")
    p.add_argument(
        "--speed", type=argtypes.speed, default=1.0, help="1 real time, 2 twice as fast, 0 instant"
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "demo",
        help="unattended booth loop: GIL run, free-threaded run, +GIL run, sweep with Rust (real runs)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "python-ft",
        help="find or build a free-threaded CPython (passes its arguments to the provisioner)",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_python_ft)

    try:
        from gildash.cli_report import register
    except ImportError:
        pass
    else:
        register(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gildash` script; returns the exit code."""
    try:
        args_list = list(sys.argv[1:] if argv is None else argv)
        if args_list[:1] == ["python-ft"]:
            # Everything after it belongs to the provisioner (argparse's REMAINDER drops a leading --flag).
            return cmd_python_ft(argparse.Namespace(args=args_list[1:]))
        parser = build_parser()
        args = parser.parse_args(args_list)
        code: int = args.func(args)
        return code
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gildash: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (`gildash targets | head`): point it at /dev/null so exit stays quiet.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(f"gildash: error: unexpected {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _error(message: str) -> None:
    print(f"gildash: error: {_one_line(message)}", file=sys.stderr)


# --- dashboard / replay / demo / provisioning --------------------------------------------------


def cmd_dashboard(args: argparse.Namespace) -> int:
    """`gildash` with no command: the Textual dashboard."""
    try:
        from gildash.ui.app import run_dashboard
    except ImportError as exc:
        _error(f"the dashboard is unavailable ({exc})")
        return EXIT_USAGE
    return int(run_dashboard(args))


def cmd_replay(args: argparse.Namespace) -> int:
    """`gildash replay FILE`: validate the recording, then hand it to the dashboard."""
    from gildash.engine.recording import RecordingError, read_recording

    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"no such recording: {path}")
    try:
        recording = read_recording(path)
    except RecordingError as exc:
        raise UsageError(str(exc)) from None
    if not recording.runs:
        raise UsageError(f"{path} holds no runs")
    try:
        from gildash.ui.app import run_replay
    except ImportError as exc:
        _error(f"the dashboard is unavailable ({exc})")
        return EXIT_USAGE
    return int(run_replay(path, args.speed))


def cmd_demo(args: argparse.Namespace) -> int:
    """`gildash demo`: the dashboard looping GIL / free-threaded / +GIL runs and a Rust sweep."""
    try:
        from gildash.ui.app import run_demo
    except ImportError as exc:
        _error(f"the dashboard is unavailable ({exc})")
        return EXIT_USAGE
    return int(run_demo())


def cmd_python_ft(args: argparse.Namespace) -> int:
    """`gildash python-ft [...]`: find or build a free-threaded CPython."""
    try:
        from gildash.engine.provision import main as provision_main
    except ImportError as exc:
        _error(f"the provisioner is unavailable ({exc})")
        return EXIT_USAGE
    return int(provision_main(list(args.args)))


# --- targets -------------------------------------------------------------------------------------


def _discover(config: Path | None, *, include_rust: bool) -> list[Target]:
    from gildash.engine.config import ConfigError
    from gildash.engine.interpreters import discover_targets

    try:
        return discover_targets(config, include_rust=include_rust)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _gil_text(t: Target) -> str:
    if t.kind == "rust":
        return "none"
    if t.free_threaded:
        return "forced on" if t.gil_enabled else "off"
    return "on"


def cmd_targets(args: argparse.Namespace) -> int:
    """`gildash targets`: what can run here."""
    from gildash.engine.recording import to_json

    targets = _discover(args.config, include_rust=True)
    if args.json:
        print(json.dumps([to_json(t) for t in targets], indent=2))
        return EXIT_OK
    rows = [("ID", "VERSION", "GIL", "SOURCE", "EXECUTABLE / REASON")]
    for t in targets:
        where = t.executable if t.available else f"unavailable: {t.reason}"
        rows.append((t.id, t.version or "-", _gil_text(t), t.source or "-", where))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return EXIT_OK


# --- run -----------------------------------------------------------------------------------------


def _default_target(targets: Sequence[Target]) -> Target:
    python = [t for t in targets if t.available and t.kind == "python"]
    for t in python:
        if t.source == "current":
            return t
    if python:
        return python[0]
    raise UsageError("no usable Python interpreter found; see `gildash targets`")


def _pick_target(args: argparse.Namespace, config: Path | None) -> Target:
    from gildash.engine.interpreters import TargetError, resolve_target

    want = args.target
    if want is None:
        return _default_target(_discover(config, include_rust=False))
    targets = _discover(config, include_rust=want.lower().startswith("rust"))
    try:
        return resolve_target(want, targets)
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def _command_target(argv0: str) -> Target:
    from gildash.engine.model import Target

    found = argv0 if os.sep in argv0 else shutil.which(argv0)
    if found is None or not os.path.isfile(found):
        raise UsageError(f"command not found: {argv0}")
    if not os.access(found, os.X_OK):
        raise UsageError(f"not executable: {found}")
    return Target(id="custom", label="custom command", executable=os.path.abspath(found), kind="command")


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in text)[:60] or "run"


def default_recording_path(workload: str, target_id: str) -> Path:
    """data_dir()/recordings/<timestamp>-<workload>-<target>.jsonl."""
    from gildash.engine.paths import data_dir

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return data_dir() / "recordings" / f"{stamp}-{_safe_name(workload)}-{_safe_name(target_id)}.jsonl"


def cmd_run(args: argparse.Namespace) -> int:
    """`gildash run`: one headless run, a human report or one JSON object, always recorded."""
    from gildash.engine.model import RunSpec
    from gildash.engine.recording import Recorder, RecordingError
    from gildash.engine.runner import Run, RunSpecError, build_argv, list_workloads

    config: Path | None = args.config
    threads: int = args.threads if args.threads is not None else (os.cpu_count() or 1)
    cmd: tuple[str, ...] | None = None
    if args.cmd is not None:
        if args.workload is not None:
            raise UsageError("give either WORKLOAD or --cmd, not both")
        try:
            cmd = tuple(shlex.split(args.cmd))
        except ValueError as exc:
            raise UsageError(f"cannot split --cmd: {exc}") from None
        if not cmd:
            raise UsageError("--cmd is empty")
        workload = "custom"
        uses_python = any("{python}" in a for a in cmd)
        # Check the program exists up front: one line now instead of a failed run later.
        command_target = _command_target(cmd[0]) if "{" not in cmd[0] else None
        if args.target is not None or uses_python:
            target = _pick_target(args, config)
        elif command_target is not None:
            target = command_target
        else:
            raise UsageError(f"cannot tell which program --cmd runs: {cmd[0]!r}")
    else:
        if args.workload is None:
            known = ", ".join(list_workloads()) or "none found"
            raise UsageError(f"missing WORKLOAD (choose from: {known}) or --cmd")
        workload = args.workload
        known_list = list_workloads()
        if workload not in known_list:
            raise UsageError(
                f"unknown workload {workload!r} (choose from: {', '.join(known_list) or 'none'})"
            )
        target = _pick_target(args, config)

    spec = RunSpec(
        target=target,
        workload=workload,
        threads=threads,
        size=args.size,
        executor=args.executor,
        timeout_s=args.timeout,
        cmd=cmd,
    )
    try:
        build_argv(spec)
    except RunSpecError as exc:
        raise UsageError(str(exc)) from None

    record_path: Path = (
        args.record if args.record is not None else default_recording_path(workload, target.id)
    )
    recorder: Recorder | None
    try:
        recorder = Recorder(record_path)
    except RecordingError as exc:
        if args.record is not None:
            raise UsageError(str(exc)) from None
        print(f"gildash: warning: not recording: {exc}", file=sys.stderr)
        recorder = None
    if recorder is not None:
        print(f"gildash: recording to {record_path}", file=sys.stderr)

    run = Run(spec, recorder=recorder, noise_check=not args.no_noise_check)
    try:
        result, interrupted = _drive(run, progress=sys.stderr.isatty())
    finally:
        if recorder is not None:
            recorder.close()
    if recorder is not None and recorder.error:
        print(f"gildash: warning: {recorder.error}", file=sys.stderr)
    if args.json:
        print(json.dumps(result_json(result), default=repr))
    else:
        print(render_report(result))
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED


def _drive(run: Run, *, progress: bool) -> tuple[RunResult, bool]:
    import asyncio
    import signal

    from gildash.engine.model import EventReceived, ProgressEvent, RunFinished, SampleTaken

    interrupted = False

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
        try:
            async for update in run.updates():
                if isinstance(update, RunFinished):
                    result = update.result
                elif isinstance(update, SampleTaken):
                    cores = update.sample.effective_cores
                elif isinstance(update, EventReceived) and isinstance(update.event, ProgressEvent):
                    done[update.event.worker] = (update.event.done, update.event.total)
                now = time.monotonic()
                if progress and now - last_draw > 0.1 and result is None:
                    last_draw = now
                    total = sum(t for _, t in done.values())
                    pct = f"  {100 * sum(d for d, _ in done.values()) / total:3.0f}%" if total else ""
                    line = (
                        f"{run.spec.workload} on {run.spec.target.id} x{run.spec.threads}  "
                        f"{now - start:5.1f} s  {cores:4.2f} cores{pct}"
                    )
                    sys.stderr.write(f"\r\x1b[K{line}")
                    sys.stderr.flush()
        finally:
            if progress:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()
            for sig in installed:
                loop.remove_signal_handler(sig)
        assert result is not None
        return result

    result = asyncio.run(drive())
    return result, interrupted


def badges(result: RunResult) -> list[str]:
    """Typed warnings and facts worth a glance, each telling the user what happened."""
    out = []
    if result.gil_reenabled:
        by = f" by module {result.gil_reenabled_by}" if result.gil_reenabled_by else ""
        out.append(f"GIL re-enabled{by}: this free-threaded run was serialised")
    if result.target.free_threaded and dict(result.target.env).get("PYTHON_GIL") == "1":
        out.append("GIL forced on (PYTHON_GIL=1)")
    if result.noisy:
        out.append("noisy machine: other processes were busy before the run; figures may be low")
    if result.malformed_lines:
        out.append(f"{result.malformed_lines} malformed stdout lines ({result.truncated_lines} truncated)")
    if not result.complete:
        out.append("incomplete: rebuilt from a recording")
    return out


def result_json(result: RunResult) -> dict[str, Any]:
    """The `run --json` object: every RunResult field, the target summarised, plus badges."""
    from gildash.engine.recording import to_json

    data = to_json(result)
    data["badges"] = badges(result)
    return data


def _fmt(value: float | None, unit: str = "", digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def render_report(result: RunResult) -> str:
    """A short human report of one run."""
    t = result.target
    lines = [
        f"{result.workload} on {t.id} ({t.label}), {result.threads} threads, {result.executor} executor",
        f"  status     {result.status} ({result.message})",
        f"  wall       {_fmt(result.wall_s, ' s')}  (harness {result.harness_wall_s:.2f} s)",
        f"  cpu        user {_fmt(result.cpu_user_s, ' s', 2)}, sys {_fmt(result.cpu_sys_s, ' s', 2)}",
        f"  cores      {_fmt(result.effective_cores, '', 2)} effective",
    ]
    lines += [f"  ! {b}" for b in badges(result)]
    if not result.ok and result.stderr_tail.strip():
        tail = result.stderr_tail.strip().splitlines()[-5:]
        lines.append("  stderr     " + "\n             ".join(tail))
    if result.recording:
        lines.append(f"  recording  {result.recording}")
    return "\n".join(lines)
