"""Hostile workloads in the dashboard (Textual Pilot over the real engine Run): keys stay answered while
they run, the run panel names the failure, `x` ends any run within 3 s, and no process survives."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from reliability_support import (
    PY,
    STOP_BUDGET_S,
    describe,
    hostile_cmd,
    kill_leftovers,
    reported_pids,
    survivors,
    walk_tree,
)
from textual.pilot import Pilot

from gildash.engine.model import EventReceived, ProcSample, RunSpec, RunStarted, RunUpdate, StartEvent
from gildash.engine.runner import Run
from gildash.engine.sampler import CoreSampler
from gildash.ui.app import GildashApp, make_app
from gildash.ui.screens.dashboard import DashboardScreen
from gildash.ui.sources import Sources
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import RunPanel

KEY_BUDGET_S = 1.0
"""Generous bound on a key press round trip under load (the issue's target is 200 ms; see the docs)."""


@dataclass
class SpyRun:
    """The real engine Run, watched on its way to the dashboard: pids, tree, start line."""

    inner: Run
    pid: int = 0
    tree: set[int] = field(default_factory=set)
    reported: set[int] = field(default_factory=set)
    started_line: bool = False
    samples: int = 0

    @property
    def run_id(self) -> str:
        return self.inner.run_id

    def stop(self) -> None:
        self.inner.stop()

    async def updates(self) -> AsyncIterator[RunUpdate]:
        async for update in self.inner.updates():
            if isinstance(update, RunStarted):
                self.pid = update.pid
                self.tree |= walk_tree(update.pid)
            elif isinstance(update, ProcSample):
                self.samples += 1
                self.tree |= walk_tree(self.pid)
            elif isinstance(update, EventReceived) and isinstance(update.event, StartEvent):
                self.started_line = True
                self.reported |= reported_pids(update.raw)
            yield update


def hostile_app(name: str, *args: str, timeout_s: float | None = None) -> tuple[GildashApp, list[SpyRun]]:
    """The dashboard whose `r` runs a hostile fixture through the real engine."""
    runs: list[SpyRun] = []

    def start_run(spec: RunSpec) -> SpyRun:
        custom = replace(
            spec,
            workload="custom",
            cmd=hostile_cmd(name, *args),
            timeout_s=timeout_s,
            size=None,
            extra_args=(),
        )
        run = SpyRun(Run(custom, noise_check=False))
        runs.append(run)
        return run

    sampler = CoreSampler()
    sources = Sources(
        targets=lambda: [PY],
        start_run=start_run,
        core_sampler=sampler.sample,
        cpu_count=2,
        clock=time.monotonic,
        record_dir=None,
    )
    return make_app(sources), runs


async def until(pilot: Pilot[int], condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.02)


async def start(pilot: Pilot[int], app: GildashApp, runs: list[SpyRun]) -> DashboardScreen:
    dash = app.dashboard
    await until(pilot, lambda: bool(dash.targets))
    await pilot.press("r")
    await until(pilot, lambda: bool(runs) and runs[0].pid > 0)
    return dash


async def assert_keys_answered(pilot: Pilot[int], dash: DashboardScreen) -> float:
    """Press + then - and see each change the run panel; returns the slowest key-to-action latency.

    Latency is measured to the moment the action runs (Pilot's press() also waits for the app to go idle,
    which a flood postpones; that wait is not what the user feels).
    """
    stamps: list[float] = []
    original = dash.action_setting

    def timed(name: str) -> None:
        stamps.append(time.monotonic())
        original(name)

    dash.action_setting = timed  # type: ignore[method-assign]
    slowest = 0.0
    try:
        for key, step in (("plus", 1), ("minus", -1)):
            before = dash.selection.settings.threads
            t0 = time.monotonic()
            await pilot.press(key)
            assert stamps, f"{key} was never answered"
            slowest = max(slowest, stamps[-1] - t0)
            assert dash.selection.settings.threads == before + step
            assert (next_run := dash.query_one(RunPanel).state.next) is not None
            assert next_run.threads == before + step
    finally:
        del dash.action_setting
    assert slowest <= KEY_BUDGET_S, slowest
    return slowest


def log_text(dash: DashboardScreen) -> str:
    # Both logs: the readable milestones and the raw lines (j switches which one shows).
    return "\n".join(line for log in dash.query(LogView) for line in log.plain_lines)


async def finish(pilot: Pilot[int], dash: DashboardScreen) -> str:
    await until(pilot, lambda: dash.last_result is not None and not dash.running)
    await pilot.pause()
    return dash.query_one(RunPanel).status_text


def assert_nothing_left(run: SpyRun) -> None:
    left = survivors(run.pid, run.tree | run.reported | {run.pid})
    kill_leftovers(left)
    assert not left, describe(left)


ENDS_BY_ITSELF = [
    ("raise_midrun", ("crashed: exit code 1",), "RuntimeError"),
    ("no_summary", ("failed: exited without a summary line",), ""),
    ("exit3_after_summary", ("crashed: exit code 3",), ""),
    ("non_json", ("ok", "5 malformed lines"), "malformed: {not json at all"),
    ("bad_utf8", ("ok", "2 malformed lines"), "\ufffd"),
    ("wrong_shape", ("failed", "14 malformed lines"), "malformed: "),
    ("long_line", ("failed", "1 malformed line", "1 truncated line"), "malformed: xxxx"),
    ("stderr_only", ("failed: exited without a summary line",), "stderr: stderr_only: diagnostic line 0"),
]


@pytest.mark.parametrize(("name", "words", "in_log"), ENDS_BY_ITSELF, ids=[c[0] for c in ENDS_BY_ITSELF])
async def test_dashboard_names_the_failure(name: str, words: tuple[str, ...], in_log: str) -> None:
    app, runs = hostile_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        status = await finish(pilot, dash)
        for word in words:
            assert word in status, status
        assert in_log in log_text(dash)
        assert dash.query_one("#run-box").has_class("-failed") is (
            dash.last_result is not None and dash.last_result.status != "ok"
        )
        await assert_keys_answered(pilot, dash)  # and still alive afterwards
    assert_nothing_left(runs[0])


@pytest.mark.slow
async def test_dashboard_stays_responsive_during_a_flood() -> None:
    app, runs = hostile_app("flood", "--seconds", "5")
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        await until(pilot, lambda: runs[0].started_line)
        rounds = 0
        while dash.running:
            await assert_keys_answered(pilot, dash)
            rounds += 1
            await pilot.pause(0.2)
        assert rounds >= 1, "the flood ended too early to test responsiveness"
        status = await finish(pilot, dash)
        assert status.startswith("ok"), status
        log = dash.query_one("#raw-log", LogView)  # the flood's JSON lines go to the raw log (j)
        # The log is bounded: what it could not show is counted, not buffered without end.
        assert log.dropped > 0 and "dropped (flood)" in str(log.border_subtitle)
    assert_nothing_left(runs[0])


HANGS = [
    ("ignore_sigterm", lambda r: r.started_line and r.samples >= 1),
    ("sleep_forever", lambda r: r.samples >= 2),
    ("spawn_tree", lambda r: r.started_line and r.samples >= 1),
    ("close_stdout", lambda r: r.started_line and r.samples >= 2),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "ready"), HANGS, ids=[c[0] for c in HANGS])
async def test_x_stops_a_hanging_run_within_3_s(name: str, ready: Callable[[SpyRun], bool]) -> None:
    app, runs = hostile_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        await until(pilot, lambda: ready(runs[0]))
        await assert_keys_answered(pilot, dash)
        t0 = time.monotonic()
        await pilot.press("x")
        status = await finish(pilot, dash)
        assert time.monotonic() - t0 <= STOP_BUDGET_S
        assert status.startswith("stopped"), status
        if name == "spawn_tree":
            assert len(runs[0].reported) == 5
    assert_nothing_left(runs[0])


async def test_silent_sleeper_times_out_on_screen() -> None:
    app, runs = hostile_app("sleep_forever", timeout_s=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        await assert_keys_answered(pilot, dash)
        status = await finish(pilot, dash)
        assert status.startswith("timed out"), status
        assert "timed out after 0.5 s" in log_text(dash)
    assert_nothing_left(runs[0])


@pytest.mark.slow
async def test_quitting_during_a_hostile_run_reaps_it() -> None:
    app, runs = hostile_app("spawn_tree")
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        await until(pilot, lambda: runs[0].started_line and runs[0].samples >= 1)
        await pilot.press("q")
        await pilot.press("y")  # confirm: a run is in progress
        await until(pilot, lambda: not dash.running)
    assert_nothing_left(runs[0])


async def test_evil_output_is_shown_as_text_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    app, runs = hostile_app("evil_output", "--marker", str(marker))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        await finish(pilot, dash)
        text = log_text(dash)
        # Rich/Textual markup in workload output is shown literally, not interpreted (and did not crash).
        assert "[bold red]not markup[/]" in text and "[link=file:///etc/passwd]x[/link]" in text
        assert "malformed: $(touch " in text
        await assert_keys_answered(pilot, dash)
    assert not marker.exists()
    assert_nothing_left(runs[0])


async def test_control_characters_in_output_never_reach_the_terminal(tmp_path: Path) -> None:
    # evil_output prints "\x1b[2J" (clear screen) and other escapes; written raw they wipe the real
    # terminal (seen by hand in tmux). Every on-screen string must be free of C0/C1 controls but tab.
    app, runs = hostile_app("evil_output", "--marker", str(tmp_path / "pwned"))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await start(pilot, app, runs)
        await finish(pilot, dash)
        shown = log_text(dash) + "\n" + dash.query_one(RunPanel).plain_text
        controls = sorted({c for c in shown if (ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) < 0xA0})
        assert not controls, f"raw control characters on screen: {controls!r}"
    assert_nothing_left(runs[0])
