"""`gildash` with no command: the live Textual dashboard (every run recorded), of this machine or of
--host HOST over ssh."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gildash.cli import common


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the config, then open the dashboard."""
    config: Path | None = getattr(args, "config", None)
    settings = common.check_config(config)
    host = common.host_of(args)
    if host is not None:
        return _remote_dashboard(host, config)
    return int(common.dashboard_entry("run_dashboard")(args, settings))


def _remote_dashboard(host: str, config: Path | None) -> int:
    """The dashboard drawing the host's cores and running its targets, for as long as the session lasts."""
    from gildash.engine.remote.watch import CoreWatch
    from gildash.engine.retention import recordings_dir

    make_app: Callable[..., Any] = common.dashboard_entry("make_app")
    from gildash.ui.sources import remote_sources

    common.prune_recordings(config)
    with common.remote_host(host) as session:
        watch = CoreWatch(session, session.cores)
        try:
            make_app(remote_sources(session, watch, record_dir=recordings_dir())).run()
        finally:
            watch.close()
        if watch.error:
            common.error(watch.error)
            return common.EXIT_USAGE
    return common.EXIT_OK
