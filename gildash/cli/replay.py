"""`gildash replay FILE [--speed X]`: a recording played back in the dashboard."""

from __future__ import annotations

import argparse
from pathlib import Path

from gildash.cli import argtypes, common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay`."""
    p = sub.add_parser("replay", help="replay a recording in the dashboard")
    p.add_argument("file", metavar="FILE", type=Path, help="a recording (.jsonl)")
    p.add_argument(
        "--speed",
        type=argtypes.speed,
        default=1.0,
        help="pace factor > 0: 1 real time, 2 twice as fast, 0.5 half (] and [ change it while replaying)",
    )
    p.set_defaults(func=common.command(cmd_replay))


def cmd_replay(args: argparse.Namespace) -> int:
    """Index the recording (one line when it is missing, not a recording or empty), then replay it."""
    # The fast index: a run's lines are read and checked when it plays, so a large file opens at once.
    from gildash.engine.recording import RecordingError, load_for_replay

    path: Path = args.file
    if not path.is_file():
        raise common.UsageError(f"no such recording: {path}")
    try:
        recording = load_for_replay(path)
    except RecordingError as exc:
        raise common.UsageError(str(exc)) from None
    if not recording.runs:
        raise common.UsageError(f"{path} holds no runs")
    return int(common.dashboard_entry("run_replay")(path, args.speed, recording))
