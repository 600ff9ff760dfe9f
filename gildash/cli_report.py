"""The `gildash sweep` and `gildash export` subcommands: headless sweeps with a plain-text table, exports.

Never imports textual. Engine modules are imported inside the handlers so `gildash --help` stays fast.
Every user error is one line `gildash: error: ...` with exit 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gildash import argtypes
from gildash.argtypes import MAX_THREADS
from gildash.engine.model import RunResult, RunSpec, SweepPlan, SweepResult, Target

"""Largest --threads value accepted (the workloads' own bound)."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _tolerant_streams() -> None:
    """Never die on '×' or '—' when stdout/stderr use a narrow encoding (LANG=C pipes): replace instead."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _error(message: str) -> int:
    print(f"gildash: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def parse_threads(text: str) -> tuple[int, ...]:
    """'1,2,4' -> (1, 2, 4): ascending, distinct, each in 1..1024 (argparse type)."""
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            n = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a thread count: {part!r}") from None
        if not 1 <= n <= MAX_THREADS:
            raise argparse.ArgumentTypeError(f"thread counts must be 1..{MAX_THREADS}, got {n}")
        values.add(n)
    if not values:
        raise argparse.ArgumentTypeError("give at least one thread count, e.g. 1,2,4")
    return tuple(sorted(values))


def _default_threads() -> tuple[int, ...]:
    """Powers of two up to the machine's CPUs, plus the CPU count itself: 1,2 on 2 cores."""
    cpus = os.cpu_count() or 1
    out = {1, cpus}
    n = 2
    while n < cpus:
        out.add(n)
        n *= 2
    return tuple(sorted(out))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `sweep` and `export` to gildash's subcommands; each sets func=handler(args) -> exit code."""
    sweep = subparsers.add_parser(
        "sweep",
        help="run a workload across targets x thread counts and print a scaling table",
        description=(
            "Run WORKLOAD under each target at each thread count (repeats interleaved across thread "
            "counts), then print median/min/max wall, speedup against the same target's 1-thread run, "
            "efficiency, the ratio to the Rust baseline and an Amdahl serial-fraction fit."
        ),
    )
    sweep.add_argument("workload", help="workload name, e.g. sum_squares or primes")
    sweep.add_argument(
        "--targets",
        default=None,
        help="comma-separated target ids or interpreter paths, e.g. py3.11,py3.13t,rust (default: all)",
    )
    sweep.add_argument(
        "--threads",
        type=parse_threads,
        default=None,
        help="comma-separated thread counts, each 1..1024 (default: powers of two up to the CPU count)",
    )
    sweep.add_argument(
        "--repeat", type=argtypes.positive_int, default=3, help="measured repeats per point (default 3)"
    )
    sweep.add_argument(
        "--warmup",
        action="store_true",
        help="one unmeasured warm-up run per target at the largest thread count",
    )
    sweep.add_argument("--size", type=argtypes.size, default=None, help="workload --size (default: its own)")
    sweep.add_argument("--executor", choices=("thread", "process"), default="thread", help="default thread")
    sweep.add_argument("--timeout", type=argtypes.seconds, default=None, help="stop any run after S seconds")
    sweep.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout instead of a table"
    )
    sweep.add_argument("--record", metavar="FILE", default=None, help="append the runs to this recording")
    sweep.add_argument(
        "--config", metavar="PATH", type=Path, default=argparse.SUPPRESS, help="targets config file (TOML)"
    )
    sweep.set_defaults(func=cmd_sweep)

    export = subparsers.add_parser(
        "export",
        help="export a recording as CSV, Markdown or JSON",
        description="Read a recording (corrupt lines are skipped and reported) and export its runs.",
    )
    export.add_argument("file", metavar="FILE", help="a recording (.jsonl)")
    export.add_argument(
        "--format",
        choices=("csv", "md", "json"),
        default=None,
        help="output format (default: from --output's suffix, else md)",
    )
    export.add_argument("--output", "-o", metavar="PATH", default=None, help="write here instead of stdout")
    export.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    export.set_defaults(func=cmd_export)


# ---------------------------------------------------------------------------------------------- sweep


@dataclass
class _SweepState:
    """What the driver has seen so far; lives outside asyncio.run so Ctrl-C keeps the partial result."""

    latest: SweepResult | None = None
    runs: list[RunResult] = field(default_factory=list)


class _Progress:
    """The live `[3/12] py3.13t × 2 threads … 0.84 s` line on stderr (only when it is a terminal)."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = total
        self.live = stream.isatty()
        self.done = 0

    def _show(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()

    def started(self, spec: RunSpec, warmup: bool) -> None:
        what = f"{spec.target.id} × {spec.threads} thread{'s' if spec.threads != 1 else ''}"
        self.current = f"[{self.done + 1}/{self.total}] {what}{' (warm-up)' if warmup else ''} …"
        self._show(self.current)

    def finished(self, result: RunResult) -> None:
        self.done += 1
        if result.wall_s is not None and result.status == "ok":
            tail = f" {result.wall_s:.2f} s"
        else:
            tail = f" {result.status}"
        self._show(self.current + tail)

    def clear(self) -> None:
        self._show("")


def _resolve_targets(names: Sequence[str] | None, config: str | None) -> list[Target]:
    """Targets for the sweep; raises ValueError with a one-line reason."""
    from gildash.engine import interpreters

    want_rust = names is None or any(n.strip().lower().startswith("rust") for n in names)
    try:
        found = interpreters.discover_targets(Path(config) if config else None, include_rust=want_rust)
    except Exception as exc:  # a broken config or probe must be one line, never a traceback
        raise ValueError(f"cannot discover targets: {exc}") from exc
    if names is None:
        chosen = [t for t in found if t.available]
        if not chosen:
            raise ValueError("no available targets found; see `gildash targets`")
        return chosen
    chosen = []
    for name in names:
        try:
            target = interpreters.resolve_target(name, found)
        except interpreters.TargetError as exc:
            raise ValueError(str(exc)) from exc
        if not target.available:
            raise ValueError(f"target {target.id} is unavailable: {target.reason or 'no reason given'}")
        if target.id not in {t.id for t in chosen}:
            chosen.append(target)
    return chosen


def _check_workload(name: str) -> None:
    """Reject unknown workload names up front instead of failing every run of the sweep."""
    from gildash.engine.paths import workloads_dir

    folder = workloads_dir()
    known = sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))
    if known and name not in known:
        raise ValueError(f"unknown workload {name!r} (known: {', '.join(known)})")


def default_recording_path(workload: str, now: float | None = None) -> Path:
    """data_dir()/recordings/<timestamp>-sweep-<workload>.jsonl."""
    from gildash.engine.paths import data_dir

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in workload)
    return data_dir() / "recordings" / f"{stamp}-sweep-{safe}.jsonl"


async def _drive(
    plan: SweepPlan, state: _SweepState, execute_kw: dict[str, Any], progress: _Progress
) -> None:
    from gildash.engine.runner import execute
    from gildash.engine.sweep import plan_runs, run_sweep

    # run_sweep calls run_fn in plan_runs order, so the same list says which call is a warm-up.
    order = iter(plan_runs(plan))

    async def run_one(spec: RunSpec) -> RunResult:
        _, warmup = next(order, (spec, False))
        progress.started(spec, warmup)
        result = await execute(spec, **execute_kw)
        progress.finished(result)
        return result

    async for step in run_sweep(plan, run_one):
        state.latest = step.partial
        state.runs.append(step.run)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned text: first column left, the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def render_sweep_text(sweep: SweepResult) -> str:
    """The sweep as plain text: title, aligned table, Amdahl fits, warnings."""
    from gildash.engine.export import POINT_HEADERS, VS_RUST_LEGEND, point_cells
    from gildash.engine.sweep import sweep_warnings

    lines = [f"{sweep.workload} ({sweep.scaling} scaling): median of repeats, workload wall seconds", ""]
    lines.append(_table(POINT_HEADERS, [point_cells(p) for p in sweep.points]))
    if sweep.fits:
        lines.append("")
        for f in sweep.fits:
            lines.append(
                f"Amdahl serial fraction {f.target_id}: {f.serial_fraction:.2f} "
                f"(fit over {f.points} thread counts, rmse {f.rmse:.2f})"
            )
    if any(p.vs_rust is not None for p in sweep.points):
        lines.append("")
        lines.append(VS_RUST_LEGEND)
    warnings = sweep_warnings(sweep)
    if warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in warnings)
    return "\n".join(lines) + "\n"


def cmd_sweep(args: argparse.Namespace) -> int:
    """`gildash sweep`: 0 when every run passed, 1 when any failed, 2 on usage errors, 130 on Ctrl-C."""
    from gildash.engine.export import export_json
    from gildash.engine.recording import Recorder

    _tolerant_streams()
    names = [n.strip() for n in args.targets.split(",") if n.strip()] if args.targets else None
    if args.targets is not None and not names:
        return _error("--targets is empty; give ids like py3.11,py3.13t,rust")
    try:
        _check_workload(args.workload)
        targets = _resolve_targets(names, getattr(args, "config", None))
    except ValueError as exc:
        return _error(str(exc))

    plan = SweepPlan(
        workload=args.workload,
        targets=tuple(targets),
        threads=args.threads or _default_threads(),
        repeat=args.repeat,
        warmup=args.warmup,
        size=args.size,
        executor=args.executor,
        timeout_s=args.timeout,
    )
    record_path = Path(args.record) if args.record else default_recording_path(args.workload)
    try:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        recorder = Recorder(record_path)
    except Exception as exc:  # an unwritable recording path is a usage error, not a crash
        return _error(f"cannot record to {record_path}: {exc}")

    from gildash.engine.sweep import plan_runs

    state = _SweepState()
    progress = _Progress(sys.stderr, len(plan_runs(plan)))
    interrupted = False
    try:
        # asyncio.run turns Ctrl-C into cancelling the sweep: the run in flight is cancelled (the runner
        # kills its process group) before KeyboardInterrupt reaches us here.
        asyncio.run(_drive(plan, state, {"recorder": recorder}, progress))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.clear()
        close = getattr(recorder, "close", None)
        if callable(close):
            close()

    sweep = state.latest or SweepResult(workload=plan.workload, scaling="none", points=(), fits=())
    if args.json:
        sys.stdout.write(export_json(sweep.runs, sweep))
    else:
        sys.stdout.write(render_sweep_text(sweep))
    sys.stdout.flush()
    print(f"gildash: recorded {len(state.runs)} run(s) to {record_path}", file=sys.stderr)
    if getattr(recorder, "error", None):
        print(f"gildash: {recorder.error}", file=sys.stderr)
    if interrupted:
        print(f"gildash: interrupted after {len(state.runs)} of {progress.total} runs", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if all(r.status == "ok" for r in state.runs) else EXIT_FAILED


# --------------------------------------------------------------------------------------------- export

_SUFFIX_FORMATS = {".csv": "csv", ".md": "md", ".markdown": "md", ".json": "json"}


def cmd_export(args: argparse.Namespace) -> int:
    """`gildash export`: 0 on success, 1 when the recording holds no run, 2 on usage/IO errors."""
    from gildash.engine.export import export_csv, export_json, export_markdown, write_export

    _tolerant_streams()
    fmt = args.format
    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(Path(args.output).suffix.lower(), "md") if args.output else "md"
    source = Path(args.file)
    if not source.is_file():
        return _error(f"no such recording: {source}")
    if args.output is not None and not args.force and Path(args.output).exists():
        # Checked before reading so the refusal is the only line; write_export re-checks atomically.
        return _error(f"{args.output} already exists; refusing to overwrite it (use --force)")

    from gildash.engine.recording import read_recording

    try:
        recording = read_recording(source)
    except Exception as exc:  # an unreadable file is one line, never a traceback
        return _error(f"cannot read {source}: {exc}")

    runs = [rec.result for rec in recording.runs]
    if recording.skipped:
        print(
            f"gildash: skipped {recording.skipped} corrupt or unusable line(s) in {source}", file=sys.stderr
        )
    if recording.errors:
        first = recording.errors[0]
        print(
            f"gildash: {len(recording.errors)} run(s) could not be rebuilt (first: {first})", file=sys.stderr
        )
    incomplete = sum(1 for r in runs if not r.complete)
    if incomplete:
        print(
            f"gildash: {incomplete} run(s) incomplete (the recording ended before they finished); "
            "marked complete=false",
            file=sys.stderr,
        )
    if not runs:
        print(f"gildash: no runs in {source}", file=sys.stderr)
        return EXIT_FAILED

    exporter = {"csv": export_csv, "md": export_markdown, "json": export_json}[fmt]
    text = exporter(runs, None)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        written = write_export(Path(args.output), text, overwrite=args.force)
    except FileExistsError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"gildash: wrote {written}", file=sys.stderr)
    return EXIT_OK
