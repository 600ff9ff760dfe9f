"""The gildash Textual app: built by make_app(sources) from its data sources; CLI entry points for it.

App-wide keys (quit, help, charts, history, export, theme, machine) live here; the main screen owns runs.
Switching machines replaces the main screen with a new one over that machine's sources and history.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen

from gildash.engine.config import Config
from gildash.engine.history import SessionHistory
from gildash.engine.retention import recordings_dir
from gildash.ui.machines import Machines, Opened, open_remote
from gildash.ui.screens.dashboard import DashboardScreen
from gildash.ui.sources import Sources, live_sources, replay_sources

if TYPE_CHECKING:
    from gildash.engine.recording import Recording


class GildashApp(App[int]):
    """The dashboard; keyboard first, mouse optional."""

    CSS_PATH = [Path(__file__).with_name("app.tcss"), DashboardScreen.CSS_FILE]
    TITLE = "gildash"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark,f1", "help", "Help", id="app.help", key_display="?"),
        Binding("c", "charts", "Charts", id="app.charts"),
        Binding("h", "history", "History", id="app.history"),
        Binding("e", "export", "Export", id="app.export", show=False),
        Binding("d", "toggle_theme", "Light/dark", id="app.theme", show=False),
        Binding("m", "next_machine", "Machine: next", id="app.machine", show=False),
    ]

    def __init__(
        self,
        sources: Sources,
        *,
        replay: Path | None = None,
        demo: bool = False,
        speed: float = 1.0,
        machines: Machines | None = None,
    ) -> None:
        super().__init__()
        self.machines = machines if machines is not None else Machines.only(sources)
        """The machines on offer and the one on show (its sources are `sources`)."""
        self.sources = self.machines.sources
        self.history: SessionHistory = self.machines.history
        """The history of the machine on show (each machine keeps its own)."""
        self.replay = replay
        self.demo = demo
        self.speed = speed
        self._quitting = False
        self.connecting: str | None = None
        """The machine being opened for `m` (None: none)."""
        self._swapping = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the dashboard is being replaced there is none: the app's keys wait for the new one.
        return not self._swapping

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver":  # a terminal (not headless, web or Windows): the quiet one
            from gildash.ui.terminal_driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver

    def get_default_screen(self) -> Screen[Any]:
        return self._new_dashboard()

    def _new_dashboard(self) -> DashboardScreen:
        return DashboardScreen(
            self.sources, self.history, replay=self.replay, demo=self.demo, speed=self.speed
        )

    @property
    def dashboard(self) -> DashboardScreen:
        """The main screen (always at the bottom of the stack)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from gildash.ui.commands import palette_commands  # lazy: the palette opens long after start-up

        yield from super().get_system_commands(screen)
        yield from palette_commands(self, self.dashboard)

    # --- actions ------------------------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key."""
        from gildash.ui.commands import all_key_actions  # lazy: not needed for the first frame
        from gildash.ui.screens.help import HelpScreen  # lazy: not needed for the first frame

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(all_key_actions(self, self.dashboard)))

    async def action_quit(self) -> None:
        """Quit; during a run ask first, and always stop the run's processes before exiting."""
        if self._quitting:
            return
        dash = self.dashboard
        if dash.running:
            from gildash.ui.screens.confirm import ConfirmScreen  # lazy: only a quit during a run asks

            if isinstance(self.screen, ConfirmScreen):
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self.run_worker(self._stop_and_exit(), group="quit", exit_on_error=False)

            self.push_screen(ConfirmScreen("A run is in progress. Stop it and quit? (y/n)"), answered)
            return
        await self._stop_and_exit()

    async def _stop_and_exit(self) -> None:
        self._quitting = True
        if self.dashboard.running:
            self.notify("stopping the run…", timeout=2)
        await self.dashboard.runs.stop_and_wait()
        await asyncio.to_thread(self.machines.close_all)  # nothing may stay on a host
        self.exit(0)

    def _open(self, make: Callable[[], Screen[Any]], kind: type[Screen[Any]], what: str) -> None:
        """Push a screen unless it is on show; a screen that cannot be built is one notification."""
        if isinstance(self.screen, kind):
            return
        try:
            screen = make()
        except Exception as exc:
            self.notify(f"{what} not available: {exc}", severity="error")
            return
        self.push_screen(screen)

    def action_charts(self) -> None:
        """Scaling charts of the live sweep or of this session's runs."""
        from gildash.ui.screens.charts import ChartsScreen

        dash = self.dashboard
        live = dash.runs.session.sweep_partial if dash.running else None
        cores, physical = dash.run_display.cores, self.sources.physical_cores
        self._open(
            lambda: ChartsScreen(self.history, dash.targets, live=live, cores=cores, physical_cores=physical),
            ChartsScreen,
            "charts",
        )

    def action_history(self) -> None:
        """This session's runs and sweeps."""
        from gildash.ui.screens.history import HistoryScreen

        self._open(lambda: HistoryScreen(self.history), HistoryScreen, "history")

    async def action_export(self) -> None:
        """Write an SVG screenshot, CSV and Markdown of this session."""
        try:
            from gildash.ui.exporting import export_bundle
        except ImportError:
            self.notify("charts not available (export needs them)", severity="warning")
            return
        try:
            where = await export_bundle(self, self.history)
        except Exception as exc:
            self.notify(f"export failed: {exc}", severity="error", timeout=8)
            return
        self.notify(f"exported to {where}", timeout=6)

    def action_toggle_theme(self) -> None:
        """Switch between the light and dark theme (ctrl+p → Theme lists them all)."""
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    # --- machines -----------------------------------------------------------------------------------

    def _refuse_switch(self, *, opened: bool = False) -> str | None:
        """Why `m` cannot switch now (one line), None when it can (opened: the machine is open, only the
        screen's swap is asked)."""
        if self.replay is not None or self.demo:
            return "machines switch in the live dashboard only"
        if not self.machines.has_hosts:
            return "no hosts configured: add hosts = [...] to the config or start with --host"
        if self.connecting is not None and not opened:
            return f"already connecting to {self.connecting}…"
        if self.screen is not self.dashboard:
            return "back to the dashboard first to switch machines"
        if self.dashboard.running:
            return "a run or sweep is going: stop it (x) before switching machines"
        return None

    def action_next_machine(self) -> None:
        """Show the next machine: this one, then each configured host (a host's session opens now and
        closes when the dashboard leaves it)."""
        why = self._refuse_switch()
        if why is not None:
            self.notify(why, severity="warning", timeout=4)
            return
        machine = self.machines.next_choice()
        self.connecting = Machines.label(machine)
        if machine is not None:
            self.notify(f"connecting to {machine}…", timeout=4)
        self.run_worker(
            partial(self._open_machine, machine), thread=True, group="machine", exit_on_error=False
        )

    def _open_machine(self, machine: str | None) -> None:
        """Thread worker: open the machine (ssh, the bundle's copy), then hand it to the UI thread."""
        from gildash.engine.remote.ssh import RemoteError  # lazy: ssh is only needed once `m` is pressed

        try:
            opened = self.machines.open(machine)
        except RemoteError as exc:
            self._call_or_drop(self._open_failed, str(exc))
            return
        except Exception as exc:  # anything else the opener raised is still one line, never a traceback
            self._call_or_drop(self._open_failed, f"cannot open {Machines.label(machine)}: {exc}")
            return
        try:
            show: Callable[..., object] = self._show_machine  # (textual's signature trips strict mypy)
            self.call_from_thread(show, machine, opened)
        except Exception:
            self.machines.discard(machine)  # the app went away meanwhile: end the session it opened
            raise

    def _call_or_drop(self, callback: Callable[..., object], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app has exited: nobody left to tell
            self.call_from_thread(callback, *args)

    def _open_failed(self, message: str) -> None:
        self.connecting = None
        self.notify(" ".join(message.split())[:300], severity="error", timeout=8)

    async def _show_machine(self, machine: str | None, opened: Opened) -> None:
        """Replace the dashboard with one over the opened machine and close the host left (off this
        thread); refused now (a run started meanwhile), the opened host's session is closed instead."""
        label = Machines.label(machine)
        why = "the app is closing" if self._quitting else self._refuse_switch(opened=True)
        if why is not None:
            self.connecting = None
            self.notify(f"not switching to {label}: {why}", severity="warning", timeout=4)
            self._close_later(machine)
            return
        left = self.machines.show(machine, opened)
        self.sources = opened.sources
        self.history = self.machines.history
        old = self.screen
        if not old._result_callbacks:  # the default screen has none, and switch_screen pops one
            old._push_result_callback(old, None)
        # The old screen must be gone before the new one mounts (both have the id 'dashboard').
        self._swapping = True
        try:
            await self.switch_screen(Screen())
            await self.switch_screen(self._new_dashboard())
        finally:
            self._swapping = False
        self.connecting = None
        if left is not None:
            self._close_later(left)
        self.notify(f"on show: {label}", timeout=3)

    def _close_later(self, machine: str | None) -> None:
        if machine is not None and machine != self.machines.on_show:
            self.run_worker(
                partial(self.machines.close, machine), thread=True, group="machine-close", exit_on_error=False
            )


make_app = GildashApp
"""The app over these sources (the factory the CLI and UI tests build it with): replay=FILE plays a
recording, demo=True loops unattended, machines: the machines `m` switches between."""


def run_dashboard(
    args: argparse.Namespace,
    settings: Config,
    *,
    host: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """`gildash`: the live dashboard, with the config the CLI read and checked (settings), offering this
    machine and the config's hosts; host: open that one first and start on it (RemoteError when it
    cannot be opened; progress(text) says so meanwhile, progress('') clears). Returns one line per host
    connection lost while it was open (the CLI prints them)."""
    config: Path | None = getattr(args, "config", None)
    # Every live run is recorded (kill -9 of the dashboard loses at most the line in flight).
    record_dir: Path = getattr(args, "record_dir", None) or recordings_dir()
    open_host = partial(open_remote, record_dir=record_dir)
    start: tuple[str, Opened] | None = None
    if host is not None:
        say = progress or (lambda _text: None)
        say(f"connecting to {host} …")
        try:
            start = (host, open_host(host))
        finally:
            say("")
    machines = Machines(
        lambda: live_sources(config, record_dir=record_dir), settings.hosts, open_host, start=start
    )
    try:
        make_app(machines.sources, machines=machines).run()
    finally:
        machines.close_all()
    return list(machines.lost)


def run_replay(path: Path, speed: float = 1.0, recording: Recording | None = None) -> int:
    """`gildash replay FILE`: the dashboard playing a recording, as the CLI opened and checked it (opened
    here when not given; RecordingError for a broken one)."""
    from gildash.engine.recording import load_for_replay

    if recording is None:
        recording = load_for_replay(path)
    make_app(replay_sources(recording), replay=path, speed=speed).run()
    return 0


def run_demo(args: argparse.Namespace | None = None) -> int:
    """`gildash demo`: unattended loop of GIL / free-threaded / +gil runs and a sweep, live (the CLI has
    checked the config)."""
    config: Path | None = getattr(args, "config", None) if args is not None else None
    make_app(live_sources(config), demo=True).run()
    return 0
