"""The main screen: targets, per-core CPU, the run panel, the effective-cores gauge, thread lanes, the log.

Composes the widgets, binds the keys and routes messages. What runs lives in the engine's RunSession
(one run or sweep at a time, its digest and its recording); replay and demo are drivers
(ui/drivers/). The selection (RunSettings + selected target) and the run on show (RunView, from the
run's own RunSpec) are two values, and every panel says which one it shows.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from gildash.engine.model import RunResult, RunStarted, SweepPlan, SweepResult, Target
from gildash.engine.session import RunSession, headline_targets
from gildash.engine.settings import Selection
from gildash.ui.drivers.replay import ReplayDriver
from gildash.ui.keys import DASHBOARD_KEYS
from gildash.ui.messages import RunPoke, SweepChanged, SweepEnded
from gildash.ui.run_control import RunControl
from gildash.ui.run_display import RunContext, RunDisplay
from gildash.ui.selection_control import SelectionControl
from gildash.ui.sources import Sources, recording_targets
from gildash.ui.widgets.compare import CompareStrip
from gildash.ui.widgets.cores import CoresPanel
from gildash.ui.widgets.gauge import Gauge
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import RunPanel
from gildash.ui.widgets.targets import TargetsPanel
from gildash.ui.widgets.thread_lanes import ThreadLanes
from gildash.ui.widgets.timeline import TimelineFigures, TimelineRows, fmt_span

if TYPE_CHECKING:
    from gildash.engine.history import SessionHistory
    from gildash.engine.recording import Recording

__all__ = ["DashboardScreen", "headline_targets"]

TICK_S = 0.25
"""Core sampling and screen update period (4 Hz): run updates accumulate between ticks."""
RUN_PAINT_EVERY = 2
"""Ticks between repaints while a run goes (2 Hz; sampling stays at 4 Hz, no sample is dropped)."""
LOG_EVERY = 4
"""Ticks between log flushes while a run goes (1 Hz): scrolling repaints every visible log line."""


class DashboardScreen(Screen[None]):
    """Everything on one screen; keyboard first."""

    # Its .tcss is loaded by the app: CSS_PATH of a default screen (get_default_screen) is not read.
    CSS_FILE = Path(__file__).with_suffix(".tcss")

    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall"), (32, "-roomy")]

    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_KEYS

    running: reactive[bool] = reactive(False)
    """A run or sweep is in progress (mirrors the session, for CSS)."""

    def __init__(
        self,
        sources: Sources,
        history: SessionHistory,
        *,
        replay: Path | None = None,
        demo: bool = False,
        speed: float = 1.0,
    ) -> None:
        super().__init__(id="dashboard")
        self.sources = sources
        self.history = history
        self.replay = ReplayDriver(replay, speed) if replay is not None else None
        self.demo = demo
        self.choice = SelectionControl(
            self, max(1, min(sources.cpu_count, 8)), changed=self._show_panel, warn=self._warn
        )
        """The selection (what `r` runs next) and the targets panel."""
        self.run_display = RunDisplay(
            self,
            sources.clock,
            cores=max(1, sources.cpu_count),
            replay=replay is not None,
            chart_runs=history.chart_runs,
        )
        """The run on show and the widgets that draw it."""
        self.runs = RunControl(self, sources, history, live=replay is None, busy=self._busy)
        """The run or sweep going: the session, its worker, its sweep note."""
        self.discovered = asyncio.Event()
        self._ticks = 0

    @property
    def session(self) -> RunSession:
        """The engine's run session (one run or sweep at a time)."""
        return self.runs.session

    @property
    def selection(self) -> Selection:
        """What `r` runs next."""
        return self.choice.selection

    @property
    def reenabled(self) -> set[str]:
        """Ids of targets whose last run re-enabled the GIL."""
        return self.choice.reenabled

    def _busy(self) -> None:
        self.running = True

    def _warn(self, text: str) -> None:
        self.notify(text, severity="warning", timeout=3)

    # --- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="banner")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Vertical(id="targets-box", classes="box"):
                    yield TargetsPanel(id="targets")
                with Vertical(id="cores-box", classes="box"):
                    yield CoresPanel(self.run_display.cores, id="cores")
            with Vertical(id="right"):
                with Vertical(id="run-box", classes="box"):
                    yield RunPanel(id="run")
                with Horizontal(id="meter-box", classes="box"):
                    yield Gauge(self.run_display.cores, id="gauge")
                    yield ThreadLanes(id="lanes")
                    yield TimelineFigures(id="timeline-figures")
                with Vertical(id="timeline-box", classes="box"):
                    yield TimelineRows(id="timeline")
                with Vertical(id="compare-box", classes="box"):
                    yield CompareStrip(id="compare")
                yield LogView(id="log")
                yield LogView(id="raw-log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#targets-box").border_title = "Targets"
        self.query_one("#cores-box").border_title = "CPU cores"
        self.query_one("#run-box").border_title = "Run"
        self.query_one("#log", LogView).border_title = "Log · milestones (j: raw JSON lines)"
        self.query_one("#raw-log", LogView).border_title = "Log · raw JSON lines (j: milestones)"
        self.query_one("#compare-box").border_title = "Same work, last run of each target"
        self.set_class(self.demo, "-stage")  # a demo plays to a room: the stage layout from the start
        self._update_banner()
        self._show_panel()
        self.set_interval(TICK_S, self._tick, name="tick")
        if self.replay is not None and self.sources.recording is not None:
            self._set_recording(self.sources.recording)
        elif self.replay is not None:
            self._load_recording(self.replay.path)
        else:
            self._discover()
        if self.demo:
            from gildash.ui.drivers.demo import demo_loop

            self.run_worker(demo_loop(self), group="demo", name="demo", exit_on_error=False)

    def _update_banner(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" gildash ", style="bold reverse")
        text.append("  the GIL, visible")
        if self.demo:
            text.append("   demo — press q to quit", style="bold")
        elif self.replay is not None:
            text.append("   " + self.replay.banner())
        elif self.sources.record_dir is not None:
            text.append(f"   recording to {self.sources.record_dir}")
        self.query_one("#banner", Static).update(text)

    # --- reactive state -> CSS classes ---------------------------------------------------------------

    def watch_running(self, running: bool) -> None:
        self.set_class(running, "-running")

    # --- discovery / recording ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="discover", exit_on_error=False)
    def _discover(self) -> list[Target]:
        return self.sources.targets()

    @work(thread=True, exclusive=True, group="discover", exit_on_error=False)
    def _load_recording(self, path: Path) -> Recording:
        from gildash.engine.recording import load_for_replay

        return load_for_replay(path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes surface: results applied, errors notified."""
        worker, state = event.worker, event.state
        if state == WorkerState.ERROR:
            error = worker.error
            what = {"discover": "discovery", "run": "run", "demo": "demo"}.get(worker.group, worker.group)
            self.notify(f"{what} failed: {type(error).__name__}: {error}", severity="error", timeout=8)
            if worker.group == "discover":
                self._set_targets([], note="discovery failed")
        if worker.group == "run" and worker.is_finished and not self.session.running:
            self._apply_pending()  # the last updates show before the run counts as over
            self.running = False
            self.run_display.over(self.session.stop_requested)
            self._show_panel()
        if worker.group == "discover" and state == WorkerState.SUCCESS:
            result = worker.result
            if isinstance(result, list):
                self._set_targets(result)
            elif result is not None:
                self._set_recording(result)

    def _set_targets(self, targets: Sequence[Target], note: str = "") -> None:
        self.choice.set_targets(targets, note)
        self.discovered.set()
        # Start-up is over: its objects (widgets, CSS, discovery) live as long as the app. Frozen, they are
        # no longer rescanned by every full collection (~25 ms each, mid-run, on this machine).
        gc.freeze()

    def _set_recording(self, recording: Recording) -> None:
        assert self.replay is not None
        note = self.replay.load(recording)
        self.choice.set_targets(recording_targets(recording), note, 0)
        self.discovered.set()
        self.run_display.note(f"replay: {note}; press r to play the first run")

    @property
    def last_result(self) -> RunResult | None:
        """The result of the last run that ended."""
        return self.run_display.last_result

    def _show_panel(self) -> None:
        """Repaint the run panel from the run on show and the selection; recolour the gauge."""
        self.run_display.draw(self.selection, self.reenabled, with_next=self.replay is None)

    @property
    def targets(self) -> list[Target]:
        """Targets on offer."""
        return list(self.selection.targets)

    @property
    def selected_target(self) -> Target | None:
        """The target `r` runs (None before discovery)."""
        return self.selection.target

    # --- selection actions --------------------------------------------------------------------------

    def action_select_target(self, index: int) -> None:
        """Select target `index` (0-based)."""
        self.choice.select_index(index)

    def select_target_id(self, target_id: str) -> None:
        """Select the target with this id (no-op when absent)."""
        self.choice.select_id(target_id)

    def action_toggle_gil(self) -> None:
        """Switch between a free-threaded target and its `+gil` twin."""
        self.choice.toggle_gil()

    def action_setting(self, name: str) -> None:
        """Change one run setting of the selection (workload, workers, size, executor, variant, ...)."""
        told = self.choice.change(name)
        if told:
            self.notify(told, timeout=2)

    def action_stage(self) -> None:
        """Stage layout: gauge, cores, timeline and the compare strip fill the screen (no targets, no log)."""
        self.set_class(not self.has_class("-stage"), "-stage")

    def action_zoom(self) -> None:
        """Timeline zoom: 50 ms, 200 ms or 2 s across the panel."""
        span = self.run_display.zoom()
        self._show_panel()
        self.notify(f"timeline: {fmt_span(span)} across", timeout=2)

    def _shown_log(self) -> LogView:
        return self.query_one("#raw-log" if self.has_class("-raw") else "#log", LogView)

    def action_log(self, action: str) -> None:
        """Scroll the run log on show (any focus)."""
        getattr(self._shown_log(), f"action_{action}")()

    def action_raw_log(self) -> None:
        """The log: readable milestones, or every raw JSON line the workload wrote."""
        self.set_class(not self.has_class("-raw"), "-raw")
        log = self._shown_log()
        log.flush()  # what it held back while hidden
        log.focus()

    # --- runs -------------------------------------------------------------------------------------

    def action_run(self) -> None:
        """Run the selected target (in replay: play the next recorded run)."""
        if self.replay is not None:
            self.action_replay_next()
            return
        if self.runs.refuse():
            return
        refusal = self.selection.refusal()
        spec = self.selection.spec()
        if refusal is not None or spec is None:
            self.notify(refusal or "nothing to run", severity="warning", timeout=5)
            return
        self.runs.start_single(lambda: self.sources.start_run(spec))

    def action_stop(self) -> None:
        """Stop the run (or sweep) in progress: SIGTERM to its process group, SIGKILL after 2 s."""
        if not self.session.running:
            return
        self.session.stop()
        self.run_display.stopping()
        self._show_panel()

    # --- applying what runs report -------------------------------------------------------------------

    def on_run_poke(self, message: RunPoke) -> None:
        self._apply_pending()

    def _apply_pending(self) -> None:
        """Show what the session's digester accumulated since the last look (one frame)."""
        digester = self.session.digester
        if not digester.pending:
            return

        def context(update: RunStarted) -> RunContext:
            return self.runs.context(update, self.selection, replay=self.replay is not None)

        with self.app.batch_update():
            for digest in digester.take():
                self.run_display.apply(digest, context)
                if digest.started is not None and self.replay is not None:
                    self.choice.select_id(digest.started.spec.target.id)
                if digest.finished is not None and digest.finished.result.gil_reenabled:
                    self.choice.mark_reenabled(digest.finished.result.target.id)
            self._show_panel()

    def _tick(self) -> None:
        # One tick, one frame: core sample, the run's accumulated updates and the elapsed time together.
        self._ticks += 1
        # While a workload runs, every frame is CPU taken from it: repaint at half the sampling rate then.
        paint = not self.running or self._ticks % RUN_PAINT_EVERY == 0
        with self.app.batch_update():
            if self.replay is None:
                try:
                    sample = self.sources.core_sampler()
                except Exception:
                    sample = None  # a failed read skips one frame; the next tick tries again
                if sample is not None:
                    self.query_one(CoresPanel).push(sample.percent, paint=paint)
                    self.session.record_cores(sample)  # the recording's per-core samples for replays
            if not paint:
                return
            # The elapsed time first, so a frame with updates draws the panels once, not twice.
            elapsed_moved = self.running and self.run_display.tick()
            if self.session.digester.pending:
                self._apply_pending()
            elif elapsed_moved:
                self._show_panel()
            if not self.running or self._ticks % LOG_EVERY == 0:
                # Only the log on show: the other one is written when j brings it up.
                self._shown_log().flush()

    # --- sweeps -------------------------------------------------------------------------------------

    def action_sweep(self, wide: bool = False) -> None:
        """Sweep the selected target and the headline ones over 1..cores workers (S: up to 2× cores)."""
        if self.replay is not None:
            self.notify("sweeps need live runs (not available in replay)", severity="warning")
        elif not self.runs.refuse():
            self.runs.sweep_selection(self.selection, self.run_display.cores, wide=wide)

    def start_sweep(self, plan: SweepPlan) -> Worker[SweepResult | None] | None:
        """Start a sweep in the exclusive "run" worker."""
        return self.runs.start_sweep(plan)

    def on_sweep_ended(self, message: SweepEnded) -> None:
        outcome = self.runs.sweep_ended(message)
        if outcome:
            self.run_display.sweep_over(outcome)
            self._show_panel()

    def on_sweep_changed(self, message: SweepChanged) -> None:
        self.runs.forward(lambda: SweepChanged(message.partial))

    # --- replay -------------------------------------------------------------------------------------

    def action_replay_next(self) -> None:
        """Replay: play the next recorded run."""
        if self.replay is None:
            self.notify("n plays recorded runs (start with gildash replay FILE)", severity="warning")
            return
        if self.runs.refuse():
            return
        make_run = self.replay.next_run()
        if make_run is None:
            self.notify("the recording is still loading (or holds no runs)", severity="warning", timeout=3)
            return
        self._update_banner()
        self.runs.start_single(make_run)

    def action_replay_pause(self) -> None:
        """Replay: pause or resume."""
        if self.replay is not None and self.replay.toggle_pause(self.session.current_run):
            self.run_display.pause(self.replay.paused)
            self._update_banner()

    def action_replay_speed(self, factor: float) -> None:
        """Replay: speed ×2 or ÷2 (applies from the next run)."""
        if self.replay is None:
            return
        speed = self.replay.change_speed(factor)
        self._update_banner()
        self.notify(f"replay speed ×{speed:g} (from the next run)", timeout=2)

    def on_unmount(self) -> None:
        # Last resort when the app exits another way: the run's finally still kills its group.
        self.session.close()
