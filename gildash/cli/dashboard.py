"""`gildash` with no command: the live Textual dashboard (every run recorded), of this machine or of
--host HOST over ssh; `m` switches between this machine and the config's hosts."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from gildash.cli import common

UI_SWITCH_INTERVAL_S = 0.001
"""The dashboard process's GIL switch interval (never a workload's: they are processes of their own)."""


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the config, then open the dashboard (on --host HOST first when given: a host that cannot be
    opened is one line, exit 2)."""
    # Start-up builds objects that live as long as the app (textual, the widgets, CSS): the cyclic collector
    # would scan them over and over before the first frame (~25 ms of ~300 here). The dashboard screen
    # turns it back on once its first frame is drawn (DashboardScreen.on_mount); the finally, if it never is.
    gc.disable()
    # The dashboard's other threads (keys in, frames out, the recording) each need the GIL for a moment;
    # while a flood keeps the event loop busy they would wait out its 5 ms turns (Python's default).
    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    try:
        return _open_dashboard(args)
    finally:
        gc.enable()


def _open_dashboard(args: argparse.Namespace) -> int:
    from gildash.engine.remote.ssh import RemoteError

    config: Path | None = getattr(args, "config", None)
    settings = common.check_config(config)
    run = common.dashboard_entry("run_dashboard")
    if getattr(args, "record_dir", None) is None:
        common.prune_to(settings.recordings_max_mb)  # the default folder this session records into
    host = common.host_of(args)
    try:
        if host is None:
            lost = run(args, settings)
        else:
            lost = run(args, settings, host=host, progress=common.ProgressLine().show)
    except RemoteError as exc:
        raise common.UsageError(str(exc)) from None
    for line in lost:  # host connections lost while the dashboard was open
        common.error(line)
    return common.EXIT_USAGE if lost else common.EXIT_OK
