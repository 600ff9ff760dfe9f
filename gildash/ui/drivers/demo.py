"""Demo driver: an unattended loop of a GIL run, a free-threaded run, its +gil twin and a sweep.

It drives the dashboard only through the screen's public actions (select, run, sweep), so what the
audience sees is exactly what a person pressing the keys would see.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gildash.engine.model import Target

if TYPE_CHECKING:
    from gildash.ui.screens.dashboard import DashboardScreen

DEMO_PAUSE_S = 4.0
"""Seconds the demo lingers on a finished run so the audience can read it."""


def demo_steps(targets: list[Target]) -> list[Target]:
    """The single runs of one demo round: first GIL CPython, first free-threaded one, its +gil twin."""
    usable = [t for t in targets if t.available]
    gil = next((t for t in usable if t.gil_mode == "gil"), None)
    ft = next((t for t in usable if t.gil_mode == "free-threaded"), None)
    twin = ft.gil_twin(usable) if ft is not None else None
    return [t for t in (gil, ft, twin) if t is not None]


async def demo_loop(screen: DashboardScreen) -> None:
    """Run demo rounds until cancelled."""
    await screen.choice.discovered.wait()
    pause_s = DEMO_PAUSE_S
    while True:
        steps = demo_steps(screen.targets)
        if not steps:
            screen.notify("demo: no runnable targets", severity="error")
            return
        for target in steps:
            await screen.runs.wait_idle()
            screen.choice.select_id(target.id)
            screen.action_run()
            await screen.runs.wait_idle()
            await asyncio.sleep(pause_s)
        await screen.runs.wait_idle()
        screen.choice.select_id(steps[0].id)
        screen.action_sweep()
        await screen.runs.wait_idle()
        await asyncio.sleep(pause_s)
