"""Fixtures for the dashboard tests: a fake engine and the app built over it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEngine, fake_sources  # noqa: E402

from gildash.ui.app import GildashApp, make_app  # noqa: E402


@pytest.fixture
def engine() -> FakeEngine:
    """The fake engine behind the app (inspect .runs after pressing r)."""
    return FakeEngine()


@pytest.fixture
def app(engine: FakeEngine) -> GildashApp:
    """The dashboard over fake sources: five targets, two cores, a frozen clock."""
    return make_app(fake_sources(engine))


async def wait_for(pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until condition() holds (fails the test after timeout seconds)."""
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
        waited += 0.02
