"""`gildash demo`: the unattended booth loop in the dashboard; it runs real benchmarks on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from gildash.cli import common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `demo` (its --config overrides gildash's own)."""
    p = sub.add_parser(
        "demo",
        help="unattended booth loop: GIL run, free-threaded run, +GIL run, sweep with Rust (real runs)",
    )
    common.add_config(p)
    p.set_defaults(func=common.command(cmd_demo))


def cmd_demo(args: argparse.Namespace) -> int:
    """Check the config, then loop GIL / free-threaded / +gil runs and a sweep with the config's targets."""
    config: Path | None = getattr(args, "config", None)
    common.check_config(config)
    return int(common.dashboard_entry("run_demo")(args))
