"""Line-cached panels repaint only what changed, never re-lay out mid-run; the log flushes in batches."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fakes import PY311, make_result
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region

from gildash.engine.model import RunSpec
from gildash.ui.widgets.gauge import Gauge, GaugeState
from gildash.ui.widgets.lines import Line, LineWidget
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import NextRun, RunPanel, RunPanelState, RunView, status_line
from gildash.ui.widgets.thread_lanes import ThreadLanes


class Rows(LineWidget):
    COMPONENT_CLASSES = {"rows--hot"}
    PREFIX = "rows"
    DEFAULT_CSS = "Rows { height: auto; } Rows > .rows--hot { color: red; }"

    def __init__(self, rows: list[str]) -> None:
        super().__init__()
        self.rows = rows

    def build_lines(self) -> list[Line]:
        return [((row, "hot" if row.startswith("!") else ""),) for row in self.rows]


class RowsApp(App[None]):
    def __init__(self, widget: Any) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def spy_refresh(monkeypatch: Any, widget: Any) -> list[tuple[tuple[Region, ...], bool]]:
    calls: list[tuple[tuple[Region, ...], bool]] = []
    original = widget.refresh

    def spy(*regions: Any, **kwargs: Any) -> Any:
        calls.append((regions, bool(kwargs.get("layout"))))
        return original(*regions, **kwargs)

    monkeypatch.setattr(widget, "refresh", spy)
    return calls


async def test_only_changed_lines_are_repainted(monkeypatch: Any) -> None:
    widget = Rows(["a", "b", "c"])
    async with RowsApp(widget).run_test(size=(20, 6)) as pilot:
        await pilot.pause()
        calls = spy_refresh(monkeypatch, widget)
        widget.changed()
        assert calls == []  # nothing changed: no repaint at all
        widget.rows = ["a", "!b", "c"]
        widget.changed()
        assert calls == [((Region(0, 1, 20, 1),), False)]
        await pilot.pause()
        assert widget.plain_text == "a\n!b\nc"
        strip = widget.render_line(1)
        assert strip.text.rstrip() == "!b" and strip.cell_length == 20
        assert any(seg.style is not None and seg.style.color is not None for seg in strip)
        assert widget.render_line(1) is strip  # cached: unchanged lines are not rebuilt


async def test_a_new_line_re_lays_out_unless_min_height_holds_it(monkeypatch: Any) -> None:
    widget = Rows(["a"])
    async with RowsApp(widget).run_test(size=(20, 8)) as pilot:
        await pilot.pause()
        calls = spy_refresh(monkeypatch, widget)
        widget.rows = ["a", "b"]
        widget.changed()
        assert calls[-1][1] is True  # height: auto grows by a row: layout needed
        await pilot.pause()
        widget.styles.min_height = 4
        await pilot.pause()
        assert widget.size.height == 4
        calls.clear()
        widget.rows = ["a", "b", "c"]
        widget.changed()
        assert calls and calls[-1][1] is False  # still 4 rows tall: repaint only
        await pilot.pause()
        assert widget.plain_text == "a\nb\nc"


async def test_run_panel_reserves_bar_rows_for_the_run(monkeypatch: Any) -> None:
    panel = RunPanel()
    async with RowsApp(panel).run_test(size=(60, 12)) as pilot:
        spec = RunSpec(PY311, "sum_squares", 3, 1000)
        panel.show(RunPanelState(RunView(), NextRun("py3.11", "sum_squares", 3, "small", "thread")))
        await pilot.pause()
        # The selection, the run on show (two lines), bars and the status to come.
        assert len(panel.lines) == 3 + 3 + 1 and panel.size.height == 7
        calls = spy_refresh(monkeypatch, panel)
        running = RunView(spec, "running", 0.0)
        panel.show(replace(panel.state, run=running))  # same height idle and running: nothing shifts
        assert calls and not any(layout for _regions, layout in calls)
        running = running.with_progress({0: (1, 4), 1: (2, 4), 2: (0, 4)})
        panel.show(replace(panel.state, run=running))
        assert calls and not any(layout for _regions, layout in calls)
        await pilot.pause()
        assert "w2" in panel.plain_text and " 50%" in panel.plain_text
        calls.clear()
        status = status_line(make_result(spec, "r1"))
        panel.show(replace(panel.state, run=replace(running, phase="finished", status=status)))
        assert calls and not any(layout for _regions, layout in calls)  # the status fills its reserved row
        await pilot.pause()
        assert panel.plain_text.splitlines()[-1].startswith("ok · wall")


async def test_thread_lanes_appear_without_a_layout_inside_their_min_height(monkeypatch: Any) -> None:
    lanes = ThreadLanes()
    lanes.styles.min_height = 5
    async with RowsApp(lanes).run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        calls = spy_refresh(monkeypatch, lanes)
        lanes.push_many([((11,), (1.0,)), ((11, 12), (1.0, 0.5))])
        assert calls and not any(layout for _regions, layout in calls)
        await pilot.pause()
        assert lanes.lane_count == 2 and lanes.latest() == [1.0, 0.5]
        assert lanes.plain_text.splitlines()[1].startswith("T2")


async def test_a_hidden_line_widget_never_re_lays_out_the_screen(monkeypatch: Any) -> None:
    # The lanes are display: none while a run shows its timeline; their pushes must cost no layout pass.
    lanes = ThreadLanes()
    lanes.display = False
    async with RowsApp(lanes).run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        calls = spy_refresh(monkeypatch, lanes)
        for n in range(3):
            lanes.push_many([((11, 12), (1.0, 0.5 + n / 10))])
            await pilot.pause()
        assert not any(layout for _regions, layout in calls)
        lanes.display = True
        await pilot.pause()
        assert lanes.plain_text.splitlines()[1].startswith("T2")  # shown again: drawn from what it holds
        assert lanes.latest() == [1.0, 0.7]


class BoxApp(App[None]):
    def __init__(self, widget: Any) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield self.widget


async def test_a_line_widget_hidden_after_it_was_drawn_asks_no_layout(monkeypatch: Any) -> None:
    # The lanes are drawn until a run shows its timeline, then hidden from above (the meter box's class):
    # their next push must not lay out the whole screen.
    lanes = ThreadLanes()
    async with BoxApp(lanes).run_test(size=(60, 8)) as pilot:
        lanes.push_many([((11, 12), (1.0, 0.5))])
        await pilot.pause()
        assert lanes.plain_text.splitlines()[1].startswith("T2")
        pilot.app.query_one("#box").display = False
        await pilot.pause()
        calls = spy_refresh(monkeypatch, lanes)
        for n in range(3):
            lanes.push_many([((11, 12, 13), (1.0, 0.5, n / 10))])
            await pilot.pause()
        assert not any(layout for _regions, layout in calls)
        pilot.app.query_one("#box").display = True
        await pilot.pause()
        assert lanes.plain_text.splitlines()[2].startswith("T3")  # shown again: drawn from what it holds


async def test_captioned_figures_re_lay_out_only_when_their_width_changes(monkeypatch: Any) -> None:
    from gildash.ui.widgets.gauge import CaptionedDigits

    figure = CaptionedDigits("median slice")
    async with RowsApp(figure).run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        calls = spy_refresh(monkeypatch, figure)
        for text in ("5.2ms", "12.3ms", "150ms"):  # all narrower than the caption: the same width
            figure.set(text)
        assert calls and not any(layout for _regions, layout in calls)
        await pilot.pause()
        assert figure.size.width == len("median slice") and figure.plain_text.endswith("median slice")
        calls.clear()
        figure.set("1234.5ms")  # wider than its caption now
        assert any(layout for _regions, layout in calls)
        calls.clear()
        figure.set("8.0ms", caption="slice")  # narrower again with a shorter caption
        assert any(layout for _regions, layout in calls)
        await pilot.pause()
        assert figure.size.width == figure.width_of("8.0ms") and figure.caption == "slice"


async def test_gauge_never_shows_more_cores_than_the_machine_has_while_live() -> None:
    gauge = Gauge(2)
    async with RowsApp(gauge).run_test(size=(30, 8)):
        gauge.show(GaugeState.live(2.13, gauge.state.cores))
        assert gauge.value == 2.0 and gauge.text.startswith("2.0 of 2")
        gauge.show(GaugeState(1.98, gauge.state.cores, final=True))
        assert gauge.value == pytest.approx(1.98)


async def test_log_queues_until_flush_and_counts_what_it_cannot_hold() -> None:
    log = LogView()
    async with RowsApp(log).run_test(size=(60, 10)) as pilot:
        log.queue_lines([("out", f"line {i}") for i in range(5)])
        assert log.written == 0 and log.queued == 5
        log.flush()
        assert log.written == 5 and log.queued == 0
        log.queue_lines([("out", "late")])
        log.add_lines([("note", "note")])  # written after what was queued, in order
        await pilot.pause()
        shown = log.plain_lines
        assert shown[-2:] == ["late", "· note"]
        log.queue_lines([("out", f"flood {i}") for i in range(10_000)], dropped=7)
        log.flush()
        assert log.dropped > 7 and "lines not shown" in str(log.border_subtitle)


async def test_log_says_when_it_is_scrolled_back() -> None:
    log = LogView()
    async with RowsApp(log).run_test(size=(60, 6)) as pilot:
        log.add_lines([("out", f"line {i}") for i in range(40)])
        await pilot.pause()
        assert log.border_subtitle == ""
        log.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert "scrolled back" in str(log.border_subtitle)
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert log.border_subtitle == ""


async def test_log_keeps_showing_the_newest_line_when_it_shrinks_and_end_follows_again() -> None:
    log = LogView()
    async with RowsApp(log).run_test(size=(60, 12)) as pilot:
        log.add_lines([("out", f"line {i}") for i in range(40)])
        await pilot.pause()
        log.styles.height = 5  # a panel above grew (a run's status line)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y and log.border_subtitle == ""
        log.focus()
        await pilot.press("pageup")
        assert log.scroll_y < log.max_scroll_y
        log.add_lines([("out", "newer")])  # reading back is not interrupted by a write
        assert log.scroll_y < log.max_scroll_y and "scrolled back" in str(log.border_subtitle)
        await pilot.press("end")
        assert log.scroll_y == log.max_scroll_y and log.plain_lines[-1] == "newer"
