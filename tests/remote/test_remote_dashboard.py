"""The dashboard over a host (remote_sources) against the loopback sshd: its cores and a run's lanes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from remote_support import LoopbackSsh
from textual.pilot import Pilot

from gildash.engine.remote.host import RemoteHost
from gildash.engine.remote.watch import CoreWatch
from gildash.ui.app import make_app
from gildash.ui.sources import remote_sources
from gildash.ui.widgets.cores import CoresPanel
from gildash.ui.widgets.targets import TargetsPanel
from gildash.ui.widgets.thread_lanes import ThreadLanes

pytestmark = pytest.mark.slow


@pytest.fixture
def session(ssh_env: LoopbackSsh) -> Iterator[RemoteHost]:
    """An open session on the loopback host."""
    with RemoteHost(ssh_env.alias) as host:
        yield host


async def _wait(pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


async def test_the_dashboard_shows_the_hosts_cores_and_a_runs_lanes(
    session: RemoteHost, tmp_path: Path, ft_python: str
) -> None:
    watch = CoreWatch(session, session.cores)
    try:
        app = make_app(remote_sources(session, watch, record_dir=tmp_path))
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.dashboard
            await _wait(pilot, lambda: bool(dash.targets))
            assert all(t.host == session.host for t in dash.targets)
            assert app.sources.host == session.host
            assert dash.query_one(CoresPanel).cores == session.cores
            ft = next(i for i, t in enumerate(dash.targets) if t.gil_mode == "free-threaded")
            await pilot.press(str(ft + 1))
            await pilot.press("r")
            await _wait(pilot, lambda: dash.running)
            await _wait(pilot, lambda: dash.query_one(ThreadLanes).lane_count > 0)
            await _wait(pilot, lambda: not dash.running and dash.last_result is not None)
            result = dash.last_result
            assert result is not None and result.status == "ok", result
            assert result.target.host == session.host
            assert any(p > 0 for p in watch.sample().percent)  # the host's load reached the grid's source
            assert dash.query_one(TargetsPanel).targets
    finally:
        watch.close()
    assert watch.error is None
