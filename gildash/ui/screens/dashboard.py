"""The main screen: targets, per-core CPU, the run panel, the effective-cores gauge, thread lanes, the log.

Composes the widgets, binds the keys and routes messages. What runs lives in the engine's RunSession
(one run or sweep at a time, its digest and its recording); replay and demo are drivers
(ui/drivers/). The selection (RunSettings + selected target) and the run on show (RunView, from the
run's own RunSpec) are two values, and every panel says which one it shows.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from gildash.engine.compare import compare
from gildash.engine.model import RunResult, RunStarted, SweepProgress, SweepResult, Target
from gildash.engine.session import RunLike, RunSession, headline_sweep, headline_targets
from gildash.engine.settings import RunSettings, Selection
from gildash.ui.drivers.replay import ReplayDriver
from gildash.ui.keys import DASHBOARD_KEYS
from gildash.ui.messages import RunPoke, SweepChanged, SweepEnded
from gildash.ui.run_display import RunContext, RunDisplay
from gildash.ui.sources import Sources, recording_targets
from gildash.ui.widgets.compare import CompareStrip
from gildash.ui.widgets.cores import CoresPanel
from gildash.ui.widgets.gauge import Gauge
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import RunPanel
from gildash.ui.widgets.targets import TargetsPanel, TargetsState, badge
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
STOP_WAIT_S = 6.0
"""Seconds quitting waits for a stopped run to reap its processes (SIGKILL comes after 2 s)."""


class DashboardScreen(Screen[None]):
    """Everything on one screen; keyboard first."""

    # Its .tcss is loaded by the app: CSS_PATH of a default screen (get_default_screen) is not read.
    CSS_FILE = Path(__file__).with_suffix(".tcss")

    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall"), (32, "-roomy")]

    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_KEYS

    running: reactive[bool] = reactive(False)
    """A run or sweep is in progress (mirrors the session, for CSS)."""
    failed: reactive[bool] = reactive(False)
    """The run on show did not end ok."""
    target_kind: reactive[str] = reactive("")
    """Badge kind of the target whose figures the gauge shows (the run on show, else the selection)."""

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
        self.cores = max(1, sources.cpu_count)
        self.selection = Selection(settings=RunSettings(threads=max(1, min(sources.cpu_count, 8))))
        """What the user is choosing: what `r` runs next (never what is running)."""
        self.reenabled: set[str] = set()
        self.run_display = RunDisplay(self, sources.clock, replay=replay is not None)
        """The run on show and the widgets that draw it."""
        self.session = RunSession(
            sources.start_run,
            self,
            record_dir=sources.record_dir if replay is None else None,
            calibrate=sources.calibrate if replay is None else None,
            machine=sources.machine if replay is None else None,
        )
        self.discovered = asyncio.Event()
        self._note = ""
        self._sweep_note = ""
        """What the going (or last) sweep left out and why, shown with it."""
        self._ticks = 0

    # --- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="banner")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Vertical(id="targets-box", classes="box"):
                    yield TargetsPanel(id="targets")
                with Vertical(id="cores-box", classes="box"):
                    yield CoresPanel(self.cores, id="cores")
            with Vertical(id="right"):
                with Vertical(id="run-box", classes="box"):
                    yield RunPanel(id="run")
                with Horizontal(id="meter-box", classes="box"):
                    yield Gauge(self.cores, id="gauge")
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
            # After the first frame: discovery's thread would take the GIL from the first render.
            self.call_after_refresh(self._discover)
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

    def watch_failed(self, failed: bool) -> None:
        self.set_class(failed, "-failed")

    def watch_target_kind(self, kind: str) -> None:
        self.set_class(kind in ("gil", "forced", "reenabled"), "-gil")
        self.set_class(kind == "ft", "-ft")
        self.set_class(kind == "native", "-native")

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
        self.selection = self.selection.with_targets(targets)
        self._refresh_targets(note)
        self.discovered.set()
        # Start-up is over: its objects (widgets, CSS, discovery) live as long as the app. Frozen, they are
        # no longer rescanned by every full collection (~25 ms each, mid-run, on this machine).
        gc.freeze()

    def _set_recording(self, recording: Recording) -> None:
        assert self.replay is not None
        note = self.replay.load(recording)
        self.selection = self.selection.with_targets(recording_targets(recording), 0)
        self._refresh_targets(note)
        self.discovered.set()
        self.run_display.note(f"replay: {note}; press r to play the first run")

    def _refresh_targets(self, note: str | None = None) -> None:
        panel = self.query_one(TargetsPanel)
        if note is not None:
            self._note = note
        panel.show(
            TargetsState(
                self.selection.targets, self.selection.index, frozenset(self.reenabled), self._note, False
            )
        )
        self._show_panel()

    @property
    def last_result(self) -> RunResult | None:
        """The result of the last run that ended."""
        return self.run_display.last_result

    def _show_panel(self) -> None:
        """Repaint the run panel from the run on show and the selection; recolour the gauge."""
        shown = self.run_display.draw(self.selection, with_next=self.replay is None)
        self.set_class(bool(self.run_display.timeline), "-timeline")
        self.target_kind = badge(shown, shown.id in self.reenabled)[1] if shown else ""

    @property
    def targets(self) -> list[Target]:
        """Targets on offer."""
        return list(self.selection.targets)

    @property
    def selected_target(self) -> Target | None:
        """The target `r` runs (None before discovery)."""
        return self.selection.target

    # --- selection actions --------------------------------------------------------------------------

    def _select(self, selection: Selection) -> None:
        targets_changed = selection.index != self.selection.index
        self.selection = selection
        if targets_changed:
            self._refresh_targets()
        else:
            self._show_panel()

    def action_select_target(self, index: int) -> None:
        """Select target `index` (0-based)."""
        chosen = self.selection.select(index)
        if chosen is None:
            self.notify(f"no target {index + 1}", severity="warning", timeout=3)
            return
        self._select(chosen)

    def select_target_id(self, target_id: str) -> None:
        """Select the target with this id (no-op when absent)."""
        self._select(self.selection.select_id(target_id))

    def action_toggle_gil(self) -> None:
        """Switch between a free-threaded target and its `+gil` twin."""
        twin = self.selection.gil_twin()
        if twin is None:
            target = self.selection.target
            name = target.id if target else "this target"
            self.notify(f"{name} has no GIL twin (only free-threaded builds do)", severity="warning")
            return
        self._select(twin)

    def _set_settings(self, settings: RunSettings) -> None:
        self._select(replace(self.selection, settings=settings))

    def action_cycle_workload(self) -> None:
        """Next workload."""
        self._set_settings(self.selection.settings.next_workload())

    def action_threads(self, step: int) -> None:
        """More or fewer workers."""
        self._set_settings(self.selection.settings.with_threads(step))

    def action_cycle_size(self) -> None:
        """Next size preset (small, medium, large)."""
        self._set_settings(self.selection.settings.next_size())

    def action_toggle_executor(self) -> None:
        """Threads or processes inside the workload."""
        self._set_settings(self.selection.settings.other_executor())
        self.notify(f"workers are now {self.selection.settings.executor}es", timeout=2)

    def action_stage(self) -> None:
        """Stage layout: gauge, cores, timeline and the compare strip fill the screen (no targets, no log)."""
        self.set_class(not self.has_class("-stage"), "-stage")

    def action_zoom(self) -> None:
        """Timeline zoom: 50 ms, 200 ms or 2 s across the panel."""
        span = self.run_display.zoom()
        self._show_panel()
        self.notify(f"timeline: {fmt_span(span)} across", timeout=2)

    def action_cycle_variant(self) -> None:
        """Contention: the next pattern and variant (own objects scale, shared ones do not)."""
        if self.selection.settings.workload != "contention":
            self.notify("v picks the contention workload's variant (w cycles to contention)", timeout=3)
            return
        self._set_settings(self.selection.settings.next_variant())

    def action_switch_interval(self) -> None:
        """Next switch interval for Python runs: the interpreter's own, 0.5, 1, 5 or 20 ms."""
        self._set_settings(self.selection.settings.next_switch_interval())

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

    def _refuse(self) -> bool:
        if self.session.running:
            self.notify("a run is already going (x stops it)", severity="warning", timeout=3)
            return True
        return False

    def action_run(self) -> None:
        """Run the selected target (in replay: play the next recorded run)."""
        if self.replay is not None:
            self.action_replay_next()
            return
        if self._refuse():
            return
        refusal = self.selection.refusal()
        spec = self.selection.spec()
        if refusal is not None or spec is None:
            self.notify(refusal or "nothing to run", severity="warning", timeout=5)
            return
        self._start_single(lambda: self.sources.start_run(spec))

    def _start_single(self, make_run: Callable[[], RunLike]) -> Worker[Any] | None:
        coro = self.session.run(make_run)
        if coro is None:
            return None
        self.running = True

        async def single() -> RunResult | None:
            result = await coro
            if result is not None:
                self._add_history(lambda: self.history.add_run(result))
            return result

        return self.run_worker(single(), group="run", name="run", exclusive=True, exit_on_error=False)

    def _add_history(self, add: Callable[[], object]) -> None:
        try:
            add()
        except Exception as exc:  # history is a nicety: a broken one never loses the run on screen
            self.notify(f"history: {exc}", severity="warning")

    def action_stop(self) -> None:
        """Stop the run (or sweep) in progress: SIGTERM to its process group, SIGKILL after 2 s."""
        if not self.session.running:
            return
        self.session.stop()
        self.run_display.stopping()
        self._show_panel()

    async def wait_idle(self) -> None:
        """Until no run or sweep is going (drivers use it between steps)."""
        while self.session.running or any(w.group == "run" and not w.is_finished for w in self.workers):
            await asyncio.sleep(0.1)

    async def stop_and_wait(self, timeout: float = STOP_WAIT_S) -> None:
        """Stop the run and demo, and wait until the run's processes are reaped (cancel after timeout)."""
        for worker in list(self.workers):
            if worker.group == "demo":
                worker.cancel()
        self.session.stop()
        pending = [w for w in self.workers if w.group == "run" and not w.is_finished]
        for worker in pending:
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(worker.wait())), timeout)
            except Exception:
                worker.cancel()  # cancelling closes updates(), whose finally kills the process group

    # --- the session's listener (called on this event loop) ------------------------------------------

    def session_poke(self) -> None:
        self.post_message(RunPoke())

    def session_sweep_step(self, progress: SweepProgress) -> None:
        self.post_message(SweepChanged(progress.partial))

    def session_sweep_ended(self, result: SweepResult | None, stopped: bool) -> None:
        self.post_message(SweepEnded(result, stopped))

    def session_notice(self, text: str) -> None:
        self.notify(text, severity="warning")

    # --- applying what runs report -------------------------------------------------------------------

    def on_run_poke(self, message: RunPoke) -> None:
        self._apply_pending()

    def _apply_pending(self) -> None:
        """Show what the session's digester accumulated since the last look (one frame)."""
        digester = self.session.digester
        if not digester.pending:
            return
        with self.app.batch_update():
            for digest in digester.take():
                self.cores = self.run_display.apply(digest, self._run_context, self.cores)
                if digest.started is not None:
                    self.failed = False
                    if self.replay is not None:
                        self.select_target_id(digest.started.spec.target.id)
                if digest.finished is not None:
                    self._finished(digest.finished.result)
            self._show_panel()

    def _run_context(self, update: RunStarted) -> RunContext:
        sweep = self.session.sweep_position(update.run_id)
        preset = self.selection.settings.preset
        if self.replay is not None:
            size_note = "recorded"
        else:
            size_note = preset.note if update.spec.size == preset.size else ""
        # A sweep's own runs carry its note; its calibration runs say what they calibrate.
        note = self._sweep_note if sweep is not None else self.session.run_note(update.run_id)
        return RunContext(sweep, note, size_note)

    def _finished(self, result: RunResult) -> None:
        self.failed = result.status != "ok"
        self.query_one(CompareStrip).show(compare(self.history.chart_runs(), result))
        if result.gil_reenabled and result.target.id not in self.reenabled:
            self.reenabled.add(result.target.id)
            self._refresh_targets()

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
            return
        if self._refuse():
            return
        sel = self.selection
        choice = headline_sweep(sel.targets, sel.target, sel.settings, self.cores, wide=wide)
        # A sweep that leaves a headline target out says so where the audience looks, for as long as it runs.
        self._sweep_note = choice.note
        if self._sweep_note:
            self.notify(f"sweep {self._sweep_note}", severity="warning", timeout=6)
        if choice.plan is None:
            self.notify("no available targets to sweep", severity="warning")
            return
        self.start_sweep(choice.plan)

    def start_sweep(self, plan: Any) -> Worker[SweepResult | None] | None:
        """Start a sweep in the exclusive "run" worker."""
        coro = self.session.sweep(plan)
        if coro is None:
            return None
        self.running = True
        return self.run_worker(coro, group="run", name="sweep", exclusive=True, exit_on_error=False)

    def on_sweep_ended(self, message: SweepEnded) -> None:
        if message.result is not None and message.result.runs:
            result = message.result
            self._add_history(lambda: self.history.add_sweep(result))
        outcome = self.session.sweep_outcome(message.stopped)
        if outcome:
            self.run_display.sweep_over(" · ".join(filter(None, (outcome, self._sweep_note))))
            self._show_panel()
        for screen in self.app.screen_stack:
            if screen is not self:
                screen.post_message(SweepEnded(message.result, message.stopped))

    def on_sweep_changed(self, message: SweepChanged) -> None:
        for screen in self.app.screen_stack:
            if screen is not self:
                screen.post_message(SweepChanged(message.partial))

    # --- replay -------------------------------------------------------------------------------------

    def action_replay_next(self) -> None:
        """Replay: play the next recorded run."""
        if self.replay is None:
            self.notify("n plays recorded runs (start with gildash replay FILE)", severity="warning")
            return
        if self._refuse():
            return
        make_run = self.replay.next_run()
        if make_run is None:
            self.notify("the recording is still loading (or holds no runs)", severity="warning", timeout=3)
            return
        self._update_banner()
        self._start_single(make_run)

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
