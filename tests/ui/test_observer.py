"""The dashboard as a light observer: coalesced run updates, a recording that keeps every line, repaints
only when something drawn changes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from conftest import wait_for
from fakes import PY311, PY313T, FakeEngine, fake_sources, scripted_updates
from textual.app import App, ComposeResult

from gildash.engine.digest import MAX_LINES, RunDigester
from gildash.engine.model import (
    EventReceived,
    MalformedLine,
    ProgressEvent,
    RunSpec,
    RunUpdate,
    StderrReceived,
)
from gildash.engine.record_tap import BackgroundTap, RunTap
from gildash.engine.recording import Recorder, read_recording
from gildash.ui.app import make_app
from gildash.ui.widgets.cores import STRIP_EVERY, CoresPanel
from gildash.ui.widgets.log_view import LogView


def flood_updates(spec: RunSpec, run_id: str, n: int) -> list[RunUpdate]:
    """A scripted run with n extra stdout lines after its start line."""
    updates = scripted_updates(spec, run_id)
    lines: list[RunUpdate] = [
        EventReceived(0.5, MalformedLine(f"flood {i}", "invalid JSON"), f"flood {i}") for i in range(n)
    ]
    return updates[:2] + lines + updates[2:]


def test_digest_keeps_latest_progress_and_counts_every_line() -> None:
    spec = RunSpec(PY311, "sum_squares", 2, 1000)
    updates = flood_updates(spec, "r1", 1000)
    digester = RunDigester()
    for update in updates:
        digester.add(update)
    digests = digester.take()
    assert len(digests) == 1 and not digester.pending
    d = digests[0]
    assert d.started is not None and d.finished is not None
    received = sum(1 for u in updates if isinstance(u, EventReceived | StderrReceived))
    assert len(d.lines) == MAX_LINES and len(d.lines) + d.skipped == received
    events = [u.event for u in updates if isinstance(u, EventReceived)]
    last = {e.worker: (e.done, e.total) for e in events if isinstance(e, ProgressEvent)}
    assert d.progress == last
    assert d.lines[-1][1] == next(u.raw for u in reversed(updates) if isinstance(u, EventReceived))


def test_digests_never_mix_two_runs() -> None:
    digester = RunDigester()
    first = scripted_updates(RunSpec(PY311, "sum_squares", 1, 1000), "a")
    second = scripted_updates(RunSpec(PY313T, "sum_squares", 1, 1000), "b")
    for update in first + second[:3]:
        digester.add(update)
    digests = digester.take()
    assert [d.started is not None for d in digests] == [True, True]
    assert digests[0].finished is not None and digests[1].finished is None
    for update in second[3:]:
        digester.add(update)
    (rest,) = digester.take()
    assert rest.started is None and rest.finished is not None
    assert digester.take() == []


def test_background_tap_records_every_line_in_order(tmp_path: Path) -> None:
    spec = RunSpec(PY311, "sum_squares", 2, 1000)
    updates = flood_updates(spec, "r1", 3000)
    path = tmp_path / "rec.jsonl"
    with Recorder(path) as recorder:
        tap = BackgroundTap(RunTap(recorder, "r1"))
        for update in updates:
            tap(update)
        tap.close()
        assert tap.pending == 0
    (run,) = read_recording(path).runs
    raws = [u.raw for _t, u in run.items if isinstance(u, EventReceived)]
    assert raws == [u.raw for u in updates if isinstance(u, EventReceived)]


def test_background_tap_keeps_no_stdout_update_alive(tmp_path: Path, monkeypatch: Any) -> None:
    # A flood's updates must die once the screen has folded them: kept for the writer thread, every young
    # collection on the UI thread found them alive (full collections of tens of ms, keys waiting).
    import weakref

    monkeypatch.setattr(BackgroundTap, "POLL_S", 3600.0)  # the writer thread does not look before close()
    spec = RunSpec(PY311, "sum_squares", 2, 1000)
    updates = flood_updates(spec, "r1", 50)
    path = tmp_path / "rec.jsonl"
    with Recorder(path) as recorder:
        tap = BackgroundTap(RunTap(recorder, "r1"))
        lines = [u for u in updates if isinstance(u, EventReceived)]
        refs = [weakref.ref(u) for u in lines]
        for update in updates:
            tap(update)
        del updates, lines, update
        assert all(ref() is None for ref in refs)
        tap.close()
    (run,) = read_recording(path).runs
    assert sum(isinstance(u, EventReceived) for _t, u in run.items) == len(refs)


async def test_flood_log_skips_lines_but_the_recording_has_them(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.flood = 20_000
    app = make_app(replace(fake_sources(engine), record_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        dash = app.dashboard
        await wait_for(pilot, lambda: bool(dash.targets))
        await pilot.press("r")
        await wait_for(pilot, lambda: not dash.running and dash.last_result is not None, timeout=30)
        await pilot.pause()
        log = dash.query_one(LogView)
        assert log.dropped > 0 and f"{log.dropped:,} lines not shown" in str(log.border_subtitle)
        assert log.written < 20_000
    (path,) = tmp_path.glob("*.jsonl")
    (run,) = read_recording(path).runs
    floods = [u for _t, u in run.items if isinstance(u, EventReceived) and u.raw.startswith("flood ")]
    assert len(floods) == 20_000


class CoresApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CoresPanel(2)


async def test_cores_panel_repaints_only_on_visible_change(monkeypatch: Any) -> None:
    app = CoresApp()
    async with app.run_test(size=(60, 12)) as pilot:
        panel = app.query_one(CoresPanel)
        panel.push((10.0, 20.0))
        await pilot.pause()
        calls: list[tuple[Any, ...]] = []
        original = panel.refresh

        def spy(*regions: Any, **kwargs: Any) -> Any:
            calls.append(regions)
            return original(*regions, **kwargs)

        monkeypatch.setattr(panel, "refresh", spy)
        panel.push((10.2, 19.9))  # same rounded percents, same cells
        assert calls == []
        panel.push((55.0, 20.0))  # cpu0 changes: its line and the header, not the whole panel
        assert len(calls) == 1 and calls[0] and all(r.height == 1 for r in calls[0])
        assert panel.latest == (55.0, 20.0)


def test_cores_history_is_one_point_per_second() -> None:
    panel = CoresPanel(2)
    for i in range(2 * STRIP_EVERY):
        panel.push((float(i), 50.0))
    assert panel.history(1) == [50.0, 50.0]
    means = [sum(range(k * STRIP_EVERY, (k + 1) * STRIP_EVERY)) / STRIP_EVERY for k in (0, 1)]
    assert panel.history(0) == means
    assert panel.latest == (2 * STRIP_EVERY - 1.0, 50.0)


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView()


async def test_log_never_writes_control_characters() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(LogView)
        log.add_lines([("out", "a\x1b[2Jb\x07c\td")])
        await pilot.pause()
        shown = "".join(log.plain_lines)
        assert "\x1b" not in shown and "\x07" not in shown
        assert "a�[2Jb�c" in shown


def test_cores_show_the_mean_of_the_last_second() -> None:
    panel = CoresPanel(2)
    for value in (0.0, 4.0, 0.0, 0.0):  # one 10 ms tick in a 250 ms sample is a 4 % step
        panel.push((value, 100.0))
    assert panel.shown == (1.0, 100.0) and panel.latest == (0.0, 100.0)
    panel.push((0.0, 100.0))
    assert panel.shown == (1.0, 100.0)
    panel.push((0.0, 100.0))  # the 4 % sample left the 1-s window
    assert panel.shown == (0.0, 100.0)


def test_core_percentages_are_the_last_whole_second() -> None:
    panel = CoresPanel(1)
    panel.push((40.0,))
    assert panel.numbers == (40.0,)  # before the first whole second: the live mean
    for value in (40.0, 40.0, 40.0):
        panel.push((value,))
    assert panel.numbers == (40.0,)
    panel.push((100.0,))  # the live mean moves at once; what is drawn waits for the second to complete
    assert panel.shown == (55.0,) and panel.numbers == (40.0,)
    for _ in range(STRIP_EVERY - 1):
        panel.push((100.0,))
    assert panel.numbers == (100.0,) == tuple(panel.history(0)[-1:])
