"""`m` against the loopback sshd: the dashboard switches to the host (its targets, its cores), a host that
cannot be reached is one line and the dashboard stays, and switching back closes the host's session."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import pytest
from remote_support import LoopbackSsh
from textual.pilot import Pilot

from gildash.engine.model import CoreSample, RunSpec, Target
from gildash.engine.session import RunLike
from gildash.ui.app import GildashApp, make_app
from gildash.ui.machines import Machines, open_remote
from gildash.ui.screens.dashboard import DashboardScreen
from gildash.ui.sources import Sources
from gildash.ui.widgets.cores import CoresPanel

pytestmark = pytest.mark.slow

TMP = Path(tempfile.gettempdir())
"""The host's temporary directory (the host is this machine)."""
HERE = Target("here", "CPython here", "/usr/bin/python3", "python", "3.11", "cpython", source="current")


def _session_dirs() -> set[str]:
    """The host's gildash session directories (made by the link's guard with mkdtemp)."""
    return {p.name for p in TMP.glob("gildash-*") if p.name.count("-") == 1 and p.is_dir()}


def _ssh_clients_of(ssh: LoopbackSsh) -> list[int]:
    """Local ssh clients still using the test's ssh_config (a session's master and its commands)."""
    config = str(ssh.ssh_config)
    return [p.pid for p in psutil.process_iter(["cmdline"]) if config in (p.info["cmdline"] or [])]


def _this_machine() -> Sources:
    """This machine as the test draws it: one target, no runs (the switch is under test, not a run)."""

    def no_runs(spec: RunSpec) -> RunLike:
        raise RuntimeError("this test runs nothing here")

    return Sources(
        targets=lambda: [HERE],
        start_run=no_runs,
        core_sampler=lambda: CoreSample(time.monotonic(), (0.0, 0.0)),
        cpu_count=2,
        clock=time.monotonic,
    )


def _on_show(app: GildashApp) -> DashboardScreen | None:
    """The dashboard on show (None for the moment one replaces another)."""
    screen = app.screen_stack[0] if app.screen_stack else None
    return screen if isinstance(screen, DashboardScreen) else None


def _showing(app: GildashApp, host: str | None) -> bool:
    """The dashboard on show is the host's (None: this machine's) and has its targets."""
    dash = _on_show(app)
    return dash is not None and dash.sources.host == host and bool(dash.targets)


async def _wait(pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


async def test_m_switches_to_the_host_and_back_closing_its_session(
    ssh_env: LoopbackSsh, tmp_path: Path
) -> None:
    before = _session_dirs()
    hosts = [ssh_env.alias, ssh_env.unknown_alias]
    machines = Machines(_this_machine, hosts, partial(open_remote, record_dir=tmp_path))
    app = make_app(machines.sources, machines=machines)
    said: list[tuple[str, str]] = []
    notify = app.notify

    def keep(message: str, **kw: Any) -> None:
        said.append((message, kw.get("severity", "information")))
        notify(message, **kw)

    app.notify = keep  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _wait(pilot, lambda: app.dashboard.targets == [HERE])
            await pilot.press("m")
            await _wait(pilot, lambda: _showing(app, ssh_env.alias))
            dash = app.dashboard
            assert ("connecting to " + ssh_env.alias + "…", "information") in said
            assert all(t.host == ssh_env.alias for t in dash.targets)
            assert any(t.gil_mode == "free-threaded" for t in dash.targets)
            assert dash.query_one(CoresPanel).cores == app.sources.cpu_count
            # (other tests' sessions may still be ending on the host: count none of theirs)
            assert machines.open_hosts == [ssh_env.alias] and _session_dirs() - before

            said.clear()
            await pilot.press("m")  # the unknown alias: one line, the host stays on show
            await _wait(pilot, lambda: app.connecting is None and any(s == "error" for _m, s in said))
            errors = [m for m, s in said if s == "error"]
            assert len(errors) == 1 and ssh_env.unknown_alias in errors[0] and "\n" not in errors[0]
            assert app.dashboard is dash and machines.on_show == ssh_env.alias

            await pilot.press("m")  # back to this machine: the host's session ends, nothing stays there
            await _wait(pilot, lambda: _showing(app, None) and not machines.open_hosts)
            assert app.dashboard.targets == [HERE]
            await _wait(pilot, lambda: not (_session_dirs() - before) and not _ssh_clients_of(ssh_env), 15)
    finally:
        machines.close_all()
    assert machines.lost == []
