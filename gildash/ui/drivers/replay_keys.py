"""The replay keys (n next run, space pause, ] [ pace) acting on the dashboard's ReplayDriver.

Outside replay they say how to get there; a replayed run starts like a live one, through the screen's
RunControl, so it is shown, stopped and ended the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gildash.ui.screens.dashboard import DashboardScreen


def play_next(screen: DashboardScreen) -> None:
    """Play the next recorded run (wrapping around) unless a run is going."""
    replay = screen.replay
    if replay is None:
        screen.warn("n plays recorded runs (start with gildash replay FILE)")
    elif not screen.runs.refuse():
        make_run = replay.next_run()
        screen.update_banner()
        if make_run is None:
            screen.warn("the recording holds no runs")
        else:
            screen.runs.start_single(make_run)


def toggle_pause(screen: DashboardScreen) -> None:
    """Pause or resume the replayed run on show; its elapsed time stands still meanwhile."""
    replay = screen.replay
    if replay is not None and replay.toggle_pause(screen.runs.session.current_run):
        screen.run_display.pause(replay.paused)
        screen.update_banner()


def change_speed(screen: DashboardScreen, factor: float) -> None:
    """Pace ×factor, within the driver's bounds (applies from the next run)."""
    if screen.replay is not None:
        speed = screen.replay.change_speed(factor)
        screen.update_banner()
        screen.notify(f"replay speed ×{speed:g} (from the next run)", timeout=2)
