"""The gildash Textual app: built by make_app(sources) from its data sources; CLI entry points for it.

App-wide keys (quit, help, charts, history, export, theme) live here; the main screen owns runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from gildash.engine.config import Config
from gildash.engine.history import SessionHistory
from gildash.engine.recording import Recording
from gildash.engine.retention import prune_default, prune_notes, recordings_dir
from gildash.ui.commands import all_key_actions, palette_commands
from gildash.ui.screens.confirm import ConfirmScreen
from gildash.ui.screens.dashboard import DashboardScreen
from gildash.ui.screens.help import HelpScreen
from gildash.ui.sources import Sources, live_sources, replay_sources


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
    ]

    def __init__(
        self, sources: Sources, *, replay: Path | None = None, demo: bool = False, speed: float = 1.0
    ) -> None:
        super().__init__()
        self.sources = sources
        self.history = SessionHistory()
        self.replay = replay
        self.demo = demo
        self.speed = speed
        self._quitting = False

    def get_default_screen(self) -> Screen[Any]:
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
        yield from super().get_system_commands(screen)
        yield from palette_commands(self, self.dashboard)

    # --- actions ------------------------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(all_key_actions(self, self.dashboard)))

    async def action_quit(self) -> None:
        """Quit; during a run ask first, and always stop the run's processes before exiting."""
        if self._quitting:
            return
        dash = self.dashboard
        if dash.running:
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


def make_app(
    sources: Sources, *, replay: Path | None = None, demo: bool = False, speed: float = 1.0
) -> GildashApp:
    """The app over these sources; replay=FILE plays a recording, demo=True loops unattended."""
    return GildashApp(sources, replay=replay, demo=demo, speed=speed)


def run_dashboard(args: argparse.Namespace, settings: Config) -> int:
    """`gildash`: the live dashboard, with the config the CLI read and checked (settings)."""
    config: Path | None = getattr(args, "config", None)
    # Every live run is recorded (kill -9 of the dashboard loses at most the line in flight).
    record_dir: Path | None = getattr(args, "record_dir", None)
    if record_dir is None:
        record_dir = recordings_dir()
        _prune_recordings(settings.recordings_max_mb)
    make_app(live_sources(config, record_dir=record_dir)).run()
    return 0


def _prune_recordings(max_mb: int | None) -> None:
    """Hold the default recordings folder to its cap before this session adds to it; said on stderr (it
    stays readable above the prompt after the dashboard exits)."""
    for line in prune_notes(prune_default(max_mb), max_mb):
        print(f"gildash: {line}", file=sys.stderr)


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
