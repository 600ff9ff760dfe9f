"""`gildash export FILE`: a recording's runs as CSV, Markdown or JSON (corrupt lines are skipped and
reported). A recording of a sweep is exported as the sweep's points (speedup, efficiency, vs rust),
aggregated by the same engine function as the dashboard's charts and export. `--format trace` writes
every run's on-CPU timeline as Chrome/Perfetto trace-event JSON instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gildash.cli import common

SUFFIX_FORMATS = {".csv": "csv", ".md": "md", ".markdown": "md", ".json": "json"}
"""--format implied by --output's suffix."""
TRACE_SUFFIX = ".trace.json"
"""--output names ending so imply --format trace (before the plain .json rule)."""


def implied_format(output: str | None) -> str:
    """The format --output's name implies (md for stdout or an unknown suffix)."""
    if output is None:
        return "md"
    name = Path(output).name.lower()
    if name.endswith(TRACE_SUFFIX):
        return "trace"
    return SUFFIX_FORMATS.get(Path(name).suffix, "md")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export`."""
    help_text = "export a recording as CSV, Markdown, JSON or a Perfetto trace"
    p = sub.add_parser("export", help=help_text, description=__doc__)
    p.add_argument("file", metavar="FILE", help="a recording (.jsonl)")
    p.add_argument(
        "--format",
        choices=("csv", "md", "json", "trace"),
        default=None,
        help=(
            "output format; trace: the workers' on-CPU slices as trace-event JSON for ui.perfetto.dev "
            "(default: from --output's suffix, .trace.json for trace, else md)"
        ),
    )
    p.add_argument("--output", "-o", metavar="PATH", default=None, help="write here instead of stdout")
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    p.set_defaults(func=common.command(cmd_export))


def cmd_export(args: argparse.Namespace) -> int:
    """0 on success, 1 when the recording holds no run, 2 on usage/IO errors."""
    from gildash.engine.export import export_csv, export_json, export_markdown, export_trace
    from gildash.engine.recording import read_recording
    from gildash.engine.sweep import recorded_sweeps

    common.tolerant_streams()
    fmt = args.format or implied_format(args.output)
    source = Path(args.file)
    if not source.is_file():
        raise common.UsageError(f"no such recording: {source}")
    if args.output is not None and not args.force and Path(args.output).exists():
        # Checked before reading so the refusal is the only line; write_export re-checks atomically.
        raise common.UsageError(f"{args.output} already exists; refusing to overwrite it (use --force)")
    try:
        recording = read_recording(source)
    except Exception as exc:  # an unreadable file is one line, never a traceback
        raise common.UsageError(f"cannot read {source}: {exc}") from None

    runs = [rec.result for rec in recording.runs]
    if recording.skipped:
        common.note(f"skipped {recording.skipped} corrupt or unusable line(s) in {source}")
    if recording.errors:
        common.note(f"{len(recording.errors)} run(s) could not be rebuilt (first: {recording.errors[0]})")
    incomplete = sum(1 for r in runs if not r.complete)
    if incomplete:
        common.note(
            f"{incomplete} run(s) incomplete (the recording ended before they finished); "
            "marked complete=false"
        )
    if not runs:
        common.note(f"no runs in {source}")
        return common.EXIT_FAILED

    if fmt == "trace":
        timed = [(rec.result, rec.timeline) for rec in recording.runs]
        if not any(timeline.tracks for _, timeline in timed):
            # Not an error: the trace still names each run, but there is nothing to look at in it.
            common.note(
                f"no run in {source} timed itself (older recording or custom commands): "
                "the trace holds the runs' names only"
            )
        return _write(args, export_trace(timed))

    sweeps = recorded_sweeps(runs)
    sweep = sweeps[-1] if sweeps else None
    if sweep is not None:
        runs = list(sweep.runs)
        others = len(recording.runs) - len(runs)
        if others:
            # One export holds one sweep: say what was left out rather than mixing it into the points.
            common.note(
                f"{source} holds {len(sweeps)} sweep(s) and {others} other run(s); "
                f"exported the last sweep ({sweep.workload}, {len(runs)} runs)"
            )
    exporter = {"csv": export_csv, "md": export_markdown, "json": export_json}[fmt]
    return _write(args, exporter(runs, sweep))


def _write(args: argparse.Namespace, text: str) -> int:
    """text to stdout, or to --output (never over an existing file without --force)."""
    from gildash.engine.export import write_export

    if args.output is None:
        sys.stdout.write(text)
        return common.EXIT_OK
    try:
        written = write_export(Path(args.output), text, overwrite=args.force)
    except FileExistsError as exc:
        raise common.UsageError(str(exc)) from None
    except OSError as exc:
        raise common.UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    common.note(f"wrote {written}")
    return common.EXIT_OK
