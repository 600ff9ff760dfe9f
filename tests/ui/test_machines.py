"""`m` switches the dashboard between this machine and the configured hosts, over fake sources (no ssh):
each machine its own screen and history, a failed open one line, no switch during a run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from conftest import wait_for
from fakes import PY311, PY313T, RUST, FakeEngine, fake_sources
from textual.widgets import Static

from gildash.engine.remote.ssh import RemoteError
from gildash.ui.app import GildashApp, make_app
from gildash.ui.commands import all_key_actions
from gildash.ui.machines import Machines, Opened
from gildash.ui.screens.dashboard import DashboardScreen
from gildash.ui.widgets.cores import CoresPanel


class FakeHosts:
    """Opens fake host sessions: bigbox has its own engine, targets and 4 cores; 'down' cannot be reached."""

    def __init__(self) -> None:
        self.engine = FakeEngine()
        self.opened: list[str] = []
        self.closed: list[str] = []

    def open(self, host: str) -> Opened:
        if host == "down":
            raise RemoteError("down: cannot reach the host\n(ssh: connect to host down port 22: refused)")
        self.opened.append(host)
        sources = replace(fake_sources(self.engine, [PY313T, RUST], cores=4), host=host)
        return Opened(sources, close=lambda: self.closed.append(host))


def switching_app(local: FakeEngine, hosts: FakeHosts, names: list[str]) -> tuple[GildashApp, list[Any]]:
    """The app over this machine (local engine) and the hosts; every notification is kept in the list."""
    machines = Machines(lambda: fake_sources(local), names, hosts.open)
    app = make_app(machines.sources, machines=machines)
    said: list[Any] = []
    app.notify = lambda message, **kw: said.append((message, kw.get("severity", "information")))  # type: ignore[method-assign]
    return app, said


def showing(app: GildashApp, host: str | None) -> bool:
    """The dashboard on show is the host's (None: this machine's) and has its targets."""
    dash = app.screen_stack[0] if app.screen_stack else None  # a moment with none while one replaces another
    return isinstance(dash, DashboardScreen) and dash.sources.host == host and bool(dash.targets)


def banner(app: GildashApp) -> str:
    return str(app.dashboard.query_one("#banner", Static).render())


async def test_m_cycles_machines_and_each_keeps_its_own_history() -> None:
    local, hosts = FakeEngine(), FakeHosts()
    app, said = switching_app(local, hosts, ["bigbox", "down"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.dashboard.targets))
        assert app.dashboard.targets[0] == PY311 and "on " not in banner(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(app.history.runs) == 1)

        await pilot.press("m")
        await wait_for(pilot, lambda: showing(app, "bigbox"))
        assert ("connecting to bigbox…", "information") in said
        assert [t.id for t in app.dashboard.targets] == ["py3.13t", "rust"]
        assert app.dashboard.query_one(CoresPanel).cores == 4
        assert "on bigbox" in banner(app)
        assert app.history.runs == []  # this machine's run is not bigbox's
        await pilot.press("r")
        await wait_for(pilot, lambda: len(app.history.runs) == 1 and not app.dashboard.running)
        assert len(hosts.engine.runs) == 1 and len(local.runs) == 1

        shown = app.dashboard
        said.clear()
        await pilot.press("m")  # 'down' fails: one line, bigbox stays on show with its session
        await wait_for(pilot, lambda: app.connecting is None and any(s == "error" for _m, s in said))
        errors = [m for m, s in said if s == "error"]
        assert errors == ["down: cannot reach the host (ssh: connect to host down port 22: refused)"]
        assert app.machines.on_show == "bigbox" and app.dashboard is shown and hosts.closed == []

        await pilot.press("m")  # past the failed host: back to this machine, bigbox's session closed
        await wait_for(pilot, lambda: showing(app, None) and hosts.closed == ["bigbox"])
        assert app.dashboard.targets[0] == PY311 and "on " not in banner(app)
        assert [r.target.id for r in app.history.runs] == ["py3.11"]
        assert [r.target.id for r in app.machines.history_of("bigbox").runs] == ["py3.13t"]
        assert app.machines.open_hosts == []

        await pilot.press("m")  # bigbox again: a new session, its earlier runs still its own
        await wait_for(pilot, lambda: showing(app, "bigbox"))
        assert hosts.opened == ["bigbox", "bigbox"]
        assert [r.target.id for r in app.history.runs] == ["py3.13t"]
        await pilot.press("q")
    assert hosts.closed == ["bigbox", "bigbox"]  # quitting closed the session on show


async def test_m_is_refused_during_a_run_and_without_hosts() -> None:
    local, hosts = FakeEngine(hold=True), FakeHosts()
    app, said = switching_app(local, hosts, ["bigbox"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.dashboard.targets))
        await pilot.press("r")
        await wait_for(pilot, lambda: app.dashboard.running)
        await pilot.press("m")
        await pilot.pause()
        assert said == [("a run or sweep is going: stop it (x) before switching machines", "warning")]
        assert app.machines.on_show is None and hosts.opened == []
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.dashboard.running)

    alone, said = switching_app(FakeEngine(), FakeHosts(), [])
    async with alone.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        assert said == [
            ("no hosts configured: add hosts = [...] to the config or start with --host", "warning")
        ]


@pytest.mark.parametrize("size", [(120, 40)])
async def test_machine_key_is_in_help_and_palette_but_not_the_footer(size: tuple[int, int]) -> None:
    app, _said = switching_app(FakeEngine(), FakeHosts(), ["bigbox"])
    async with app.run_test(size=size):
        actions = {ka.binding_id: ka for ka in all_key_actions(app, app.dashboard)}
        assert actions["app.machine"].keys == "m" and actions["app.machine"].description == "Machine: next"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Machine: next" in titles
