"""Snapshots of the main screen at 120×40 and 80×24 after a GIL and a free-threaded run (fake sources).

Deterministic: scripted runs, fixed core samples (the history strip pre-filled), a frozen clock.
Regenerate with `pytest tests/ui/test_snapshots.py --snapshot-update` after an intended change.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import wait_for
from fakes import FakeEngine, fake_sources
from textual.pilot import Pilot

from gildash.ui.app import make_app
from gildash.ui.widgets.cores import HISTORY, CoresPanel


async def _after_run(pilot: Pilot[Any], keys: tuple[str, ...]) -> None:
    app = pilot.app
    dash = app.dashboard  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: bool(dash.targets))
    cores = dash.query_one(CoresPanel)
    for _ in range(HISTORY):  # a full, steady history strip: no dependence on how many ticks ran
        cores.push((35.0, 70.0))
    await pilot.press(*keys)
    await wait_for(pilot, lambda: not dash.running and dash.last_result is not None)
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("keys", [("r",), ("2", "r")], ids=["gil", "free-threaded"])
def test_main_screen(snap_compare: Any, size: tuple[int, int], keys: tuple[str, ...]) -> None:
    app = make_app(fake_sources(FakeEngine()))

    async def run_before(pilot: Pilot[Any]) -> None:
        await _after_run(pilot, keys)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
