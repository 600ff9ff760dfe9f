"""Turns the run session's digests into what the run's widgets show: the run panel's RunView, the gauge,
the lanes, the log, and in replay the recorded per-core samples.

Owns the RunView (the run on show, from its own RunSpec) and its stopwatch; the screen owns the
selection and hands the display only what it cannot know (sweep position, size note).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from textual.dom import DOMNode

from gildash.engine.catalog import headline_value
from gildash.engine.compare import compare
from gildash.engine.digest import LineKind, RunDigest, RunDigester
from gildash.engine.model import RunResult, RunStarted
from gildash.engine.timeline import TimelineBuilder, median_slice_ms, parallel_overlap
from gildash.ui.drivers.replay import Stopwatch
from gildash.ui.selection_control import SelectionControl
from gildash.ui.widgets.compare import CompareStrip
from gildash.ui.widgets.cores import CoresPanel
from gildash.ui.widgets.gauge import Gauge, GaugeState, fmt_rate
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import (
    NextRun,
    RunPanel,
    RunPanelState,
    RunView,
    status_line,
    workload_label,
)
from gildash.ui.widgets.targets import badge
from gildash.ui.widgets.thread_lanes import ThreadLanes
from gildash.ui.widgets.timeline import ZOOMS_S, TimelineFigures, TimelineRows, TimelineState, fmt_span


@dataclass(frozen=True)
class RunContext:
    """What the screen knows about a run that its updates do not say."""

    sweep: tuple[int, int] | None
    """(its place in the sweep, runs planned), None outside a sweep."""
    note: str
    """A line to show with it (what the sweep left out)."""
    size_note: str
    """What its size means."""


class RunDisplay:
    """Applies digests to the run's widgets; the screen asks it for the view to draw."""

    def __init__(
        self,
        root: DOMNode,
        clock: Callable[[], float],
        *,
        cores: int,
        replay: bool,
        chart_runs: Callable[[], Sequence[RunResult]],
        choice: SelectionControl,
    ) -> None:
        self._root = root
        """The screen whose widgets this draws."""
        self._choice = choice
        """The selection, drawn as the panel's next row (never as the run on show)."""
        self._clock = clock
        """Monotonic seconds for the elapsed time (frozen in snapshot tests)."""
        self._replay = replay
        """Runs on show are replayed: cores come from the recording, no next row, targets follow the run."""
        self._chart_runs = chart_runs
        """The session's runs the compare strip measures a finished run against."""
        self.cores = cores
        """Logical CPUs of the machine on show (a replay's recording may come from another one)."""
        self.view = RunView()
        """The run on show."""
        self.last_result: RunResult | None = None
        """The result of the last run that ended."""
        self.stopwatch = Stopwatch()
        """Elapsed time of the run on show (stands still while a replay is paused)."""
        self.timeline = TimelineBuilder()
        """The run on show's on-CPU slices (kept when it ends: the panel keeps its last window)."""
        self.timed: bool | None = None
        """The run's workers time themselves (None: its start line has not arrived yet)."""
        self._timeline_shown = False
        """The timeline panel is on show instead of the lanes (the -timeline class of its boxes)."""
        self.zoom_s = ZOOMS_S[1]
        """Seconds across the timeline panel."""
        self._rate = ""
        """The run's work rate as shown ('work 9.8M items/s')."""
        self._unit = "units"
        """What the workers' progress counts (iterations, items, ...)."""
        self._batches = 0
        """Slices batches folded into the timeline (its version: the window changes only with it)."""
        self._timeline_cache: tuple[tuple[int, float, bool, bool], TimelineState] | None = None
        self._titles: dict[str, str] = {}
        """Border titles as last set."""

    def show_pending(self, digester: RunDigester, context: Callable[[RunStarted], RunContext]) -> None:
        """Show what the digester accumulated since the last look, in one frame; `context` describes a run
        that starts in it. A replayed run selects its target; a run that re-enabled the GIL marks it."""
        if not digester.pending:
            return
        with self._root.app.batch_update():
            for digest in digester.take():
                self.apply(digest, context)
                if digest.started is not None and self._replay:
                    self._choice.select_id(digest.started.spec.target.id)
                if digest.finished is not None and digest.finished.result.gil_reenabled:
                    self._choice.mark_reenabled(digest.finished.result.target.id)
            self.redraw()

    def apply(self, digest: RunDigest, context: Callable[[RunStarted], RunContext]) -> None:
        """Apply one digest; `context` describes a run that starts in it."""
        q = self._root.query_one
        gauge = q(Gauge)
        cores = self.cores
        if digest.started is not None:
            self._started(digest.started, context(digest.started))
        if digest.cpu_count is not None and digest.cpu_count != cores:
            self.cores = cores = digest.cpu_count
            gauge.show(replace(gauge.state, cores=cores))
        if digest.start_event is not None:
            self.timed = digest.start_event.timeline is not None
            timeline = digest.start_event.timeline
            self._unit = timeline.check_unit if timeline is not None else "units"
            self.view = replace(self.view, switch_s=digest.start_event.switch_interval_s)
        for batch in digest.slices:
            self.timeline.add(batch)
            self._batches += 1
        if digest.stall is not None:
            self.view = replace(self.view, stalled_s=digest.stall.idle_s if digest.stall.stalled else None)
        if digest.progress:
            self.view = self.view.with_progress(digest.progress)
            if digest.progress_t:
                done = sum(d for _w, d, _t in self.view.progress)
                self._rate = fmt_rate(done / digest.progress_t, self._unit)
        if digest.samples:
            q(ThreadLanes).push_many([(s.thread_ids, s.thread_util) for s in digest.samples])
            if digest.finished is None:
                gauge.show(GaugeState.live(digest.samples[-1].effective_cores, cores, self._rate))
        if digest.core_samples and self._replay:  # live mode samples cores itself at 4 Hz
            panel = q(CoresPanel)
            for taken in digest.core_samples:
                panel.push(taken.percent)
        if digest.lines or digest.skipped:
            q("#raw-log", LogView).queue_lines(list(digest.lines), digest.skipped)
        if digest.milestones or digest.milestones_skipped:
            q("#log", LogView).queue_lines(list(digest.milestones), digest.milestones_skipped)
        if digest.finished is not None:
            self._finished(digest.finished.result)

    def _started(self, update: RunStarted, context: RunContext) -> None:
        self._root.query_one("#run-box").set_class(False, "-failed")
        self.stopwatch.start(self._clock())
        self.timeline = TimelineBuilder()
        self.timed = None
        self._rate, self._unit = "", "units"
        self._batches += 1  # a new run: a new (empty) window
        for log in self._root.query(LogView):
            log.reset()
        self.note("$ " + " ".join(update.argv) if update.argv else f"run {update.run_id}")
        if update.noisy:
            self.note("the machine was busy before this run: figures may be noisy")
        self._root.query_one(ThreadLanes).clear(processes=update.spec.executor == "process")
        gauge = self._root.query_one(Gauge)
        gauge.show(GaugeState.live(None, gauge.state.cores))
        self.view = RunView(
            update.spec, "running", 0.0, sweep=context.sweep, note=context.note, size_note=context.size_note
        )

    def _finished(self, result: RunResult) -> None:
        self.last_result = result
        self._root.query_one("#run-box").set_class(result.status != "ok", "-failed")
        self._root.query_one(CompareStrip).show(compare(self._chart_runs(), result))
        self.stopwatch.stop()
        self.view = replace(
            self.view,
            phase="stopped" if result.status == "stopped" else "finished",
            status=status_line(result),
            elapsed=result.harness_wall_s,
        )
        gauge = self._root.query_one(Gauge)
        head = headline_value(result)
        rate = fmt_rate(head[1], head[0].unit.removesuffix("/s")) if head is not None else self._rate
        gauge.show(GaugeState(result.effective_cores, gauge.state.cores, final=True, rate=rate))
        if result.stderr_tail and result.status in ("crashed", "error", "failed"):
            for line in result.stderr_tail.strip().splitlines()[-3:]:
                self.note(line, "err")
        if result.message:
            self.note(result.message)
        for log in self._root.query(LogView):
            log.flush()  # the run's last lines show with its result, not a frame later

    def note(self, text: str, kind: LineKind = "note") -> None:
        """A line of gildash's own in both logs (readable and raw)."""
        for log in self._root.query(LogView):
            log.add_lines([(kind, text)])

    def stopping(self) -> None:
        """The user asked the run to stop."""
        if self.view.phase == "running":
            self.view = replace(self.view, phase="stopping")

    def over(self, stopped: bool) -> None:
        """The run's worker ended (a run that never reported its end is stopped or idle now)."""
        if self.view.phase in ("running", "stopping"):
            self.view = replace(self.view, phase="stopped" if stopped else "idle")
        self.redraw()

    def frame(
        self, digester: RunDigester, context: Callable[[RunStarted], RunContext], *, running: bool
    ) -> None:
        """One painted frame: the elapsed time first, then what the run reported since the last frame, so a
        frame with updates draws the panels once, not twice."""
        elapsed_moved = running and self.tick()
        if digester.pending:
            self.show_pending(digester, context)
        elif elapsed_moved:
            self.redraw()

    def sweep_over(self, note: str) -> None:
        """The sweep ended: say how, until the next run starts."""
        self.view = replace(self.view, sweep=None, note=note)

    def tick(self) -> bool:
        """Advance the elapsed time of a going run; True when the view changed."""
        elapsed = self.stopwatch.elapsed(self._clock())
        if elapsed is None or self.view.phase not in ("running", "stopping"):
            return False
        self.view = replace(self.view, elapsed=elapsed)
        return True

    def redraw(self) -> None:
        """Repaint the run panel (the run on show, and outside replay the selection), the meter's title,
        the timeline, and the colour classes of the target whose figures the gauge shows (the run's, else
        the selected one)."""
        spec = self.view.spec
        next_run: NextRun | None = None
        selection, reenabled = self._choice.selection, self._choice.reenabled
        target = selection.target
        if not self._replay:
            s, p = selection.settings, selection.settings.preset
            size = f"{p.name} ({p.note})" if p.note else p.name
            workload = workload_label(s.workload, s.workload_args)
            next_run = NextRun(
                target.id if target else "", workload, s.threads, size, s.executor, s.switch_interval_s
            )
        self._root.query_one(RunPanel).show(RunPanelState(self.view, next_run))
        processes = spec is not None and spec.executor == "process"
        whose = f"{spec.target.id} · " if spec is not None else ""  # whose figure the gauge shows
        # The timeline replaces the lanes once the run says it times itself (or slices came), and stays
        # through the next run's start: each flip of -timeline restyles its boxes and lays them out.
        if self.timed is not None or self.timeline:
            self._timeline_shown = bool(self.timed) or bool(self.timeline)
        if self._timeline_shown:
            title = f"{whose}effective cores · overlap · median on-CPU slice"
        else:
            title = f"{whose}effective cores · {'process' if processes else 'thread'} lanes"
            if self.timed is False:
                title += " (no timeline: this command does not time itself)"
        self._title("#meter-box", title)
        state = self.timeline_state(processes)
        self._root.query_one(TimelineRows).show(state)
        self._root.query_one(TimelineFigures).show(state)
        over = self.view.phase in ("finished", "stopped")
        when = (
            "before the first worker finished"
            if over and len(state.window.tracks if state.window else ()) >= 2
            else ""
        )
        self._title("#timeline-box", f"On-CPU timeline · last {fmt_span(self.zoom_s)} {when}".rstrip())
        shown = spec.target if spec is not None else target
        kind = badge(shown, shown.id in reenabled)[1] if shown is not None else ""
        q = self._root.query_one
        for box in (q("#timeline-box"), q("#meter-box")):
            box.set_class(self._timeline_shown, "-timeline")
        gauge = q(Gauge)
        gauge.set_class(kind in ("gil", "forced", "reenabled"), "-gil")
        gauge.set_class(kind == "ft", "-ft")
        gauge.set_class(kind == "native", "-native")

    def _title(self, selector: str, title: str) -> None:
        # A border title set again repaints the border: set it only when its words change.
        if self._titles.get(selector) != title:
            self._titles[selector] = title
            self._root.query_one(selector).border_title = title

    def timeline_state(self, processes: bool) -> TimelineState:
        """The last `zoom_s` seconds of the run on show's timeline, with that window's figures."""
        over = self.view.phase in ("finished", "stopped")
        key = (self._batches, self.zoom_s, processes, over)
        if self._timeline_cache is not None and self._timeline_cache[0] == key:
            return self._timeline_cache[1]  # no new slices: the same window (and no repaint)
        if not self.timeline:
            spec = self.view.spec
            workers = spec.threads if spec is not None else 0
            state = TimelineState(span_s=self.zoom_s, processes=processes, workers=workers)
        else:
            # Live: where every worker at work has reported (a window to the newest batch would show the
            # others as off the CPU for spans they have simply not sent yet).
            end = self.timeline.live_edge()
            if over:
                # Kept after the run: the last window with every worker still at work (the tail where one
                # worker finishes alone would hide the hand-offs the run was made of).
                ends = [t.slices[-1][1] for t in self.timeline.snapshot().tracks if t.slices]
                if len(ends) >= 2:
                    end = min(ends)
            window = self.timeline.window(end - self.zoom_s, end)
            state = TimelineState(
                window, self.zoom_s, parallel_overlap(window), median_slice_ms(window), processes
            )
        self._timeline_cache = (key, state)
        return state

    def zoom(self) -> float:
        """The next zoom of the timeline (50 ms, 200 ms, 2 s, ...)."""
        i = ZOOMS_S.index(self.zoom_s) if self.zoom_s in ZOOMS_S else 0
        self.zoom_s = ZOOMS_S[(i + 1) % len(ZOOMS_S)]
        return self.zoom_s

    def pause(self, paused: bool) -> None:
        """A replay paused or resumed: the elapsed time stands still meanwhile."""
        self.stopwatch.pause(paused, self._clock())
