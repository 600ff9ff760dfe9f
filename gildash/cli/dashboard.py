"""`gildash` with no command: the live Textual dashboard (every run recorded)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gildash.cli import common


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the config, then open the dashboard."""
    config: Path | None = getattr(args, "config", None)
    settings = common.check_config(config)
    return int(common.dashboard_entry("run_dashboard")(args, settings))
