"""The main screen: targets, per-core CPU, the run panel, the effective-cores gauge, thread lanes, the log.

Composes the widgets, binds the keys and routes messages. What runs lives in the engine's RunSession
(one run or sweep at a time, its digest and its recording); replay and demo are drivers
(ui/drivers/). The selection (RunSettings + selected target) and the run on show (RunView, from the
run's own RunSpec) are two values, and every panel says which one it shows.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from gildash.engine.model import RunResult, RunStarted, Target
from gildash.engine.settings import Selection
from gildash.ui.drivers import replay_keys
from gildash.ui.drivers.replay import ReplayDriver
from gildash.ui.keys import DASHBOARD_KEYS
from gildash.ui.messages import RunPoke, SweepChanged, SweepEnded
from gildash.ui.run_control import RunControl
from gildash.ui.run_display import RunContext, RunDisplay
from gildash.ui.selection_control import SelectionControl
from gildash.ui.sources import Sources, recording_targets
from gildash.ui.widgets.banner import Banner
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

TICK_S = 0.25
"""Core sampling and screen update period (4 Hz): run updates accumulate between ticks."""
RUN_PAINT_EVERY = 4
"""Ticks between repaints while a run goes (1 Hz, as the cores' 1-s means move; sampling stays at 4 Hz,
no sample is dropped, and a key still repaints at once)."""
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
        threads = max(1, min(sources.cpu_count, 8))
        self.choice = SelectionControl(
            self, threads, changed=lambda: self.run_display.redraw(), warn=self.warn
        )
        """The selection (what `r` runs next) and the targets panel."""
        if replay is not None and sources.recording is None:
            raise ValueError("a replay needs the recording in its sources (replay_sources)")
        self.run_display = RunDisplay(
            self,
            sources.clock,
            cores=max(1, sources.cpu_count),
            replay=replay is not None,
            chart_runs=history.chart_runs,
            choice=self.choice,
        )
        """The run on show and the widgets that draw it."""
        self.runs = RunControl(self, sources, history, live=replay is None, busy=self._busy)
        """The run or sweep going: the session, its worker, its sweep note."""
        self._ticks = 0

    @property
    def selection(self) -> Selection:
        """What `r` runs next."""
        return self.choice.selection

    def _busy(self) -> None:
        self.running = True

    def warn(self, text: str) -> None:
        """A short warning toast."""
        self.notify(text, severity="warning", timeout=3)

    # --- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Banner(id="banner")
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
        self._cores = self.query_one(CoresPanel)  # pushed to 4 times a second: looked up once
        self.query_one("#targets-box").border_title = "Targets"
        self.query_one("#cores-box").border_title = "CPU cores"
        self.query_one("#run-box").border_title = "Run"
        self.query_one("#log", LogView).border_title = "Log · milestones (j: raw JSON lines)"
        self.query_one("#raw-log", LogView).border_title = "Log · raw JSON lines (j: milestones)"
        self.query_one("#compare-box").border_title = "Same work, last run of each target"
        self.set_class(self.demo, "-stage")  # a demo plays to a room: the stage layout from the start
        self.update_banner()
        self.run_display.redraw()
        self.set_interval(TICK_S, self._tick, name="tick")
        if self.replay is not None and self.sources.recording is not None:
            note = self.replay.load(self.sources.recording)
            self.choice.set_targets(recording_targets(self.sources.recording), note, 0)
            self.run_display.note(f"replay: {note}; press r to play the first run")
        else:
            # After the first frame: discovery's thread would take the GIL from the first render.
            self.call_after_refresh(self._discover)
        # The CLI holds the cyclic collector off while the app starts (cli/dashboard.py): on from here.
        self.call_after_refresh(gc.enable)
        if self.demo:
            from gildash.ui.drivers.demo import demo_loop

            self.run_worker(demo_loop(self), group="demo", name="demo", exit_on_error=False)

    def update_banner(self) -> None:
        """Say the mode the dashboard is in (demo, replay and its pace, recording)."""
        record_dir = self.sources.record_dir
        mode = self.replay.banner() if self.replay else f"recording to {record_dir}" if record_dir else ""
        mode = f"on {self.sources.host}   {mode}" if self.sources.host else mode  # which machine is on show
        self.query_one(Banner).show("demo — press q to quit" if self.demo else mode, bold=self.demo)

    def watch_running(self, running: bool) -> None:
        for box in self.query("#run-box, #meter-box"):
            box.set_class(running, "-running")

    # --- discovery, workers ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="discover", exit_on_error=False)
    def _discover(self) -> list[Target]:
        return self.sources.targets()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes surface: results applied, errors notified."""
        worker, state = event.worker, event.state
        if state == WorkerState.ERROR:
            error = worker.error
            what = {"discover": "discovery", "run": "run", "demo": "demo"}.get(worker.group, worker.group)
            self.notify(f"{what} failed: {type(error).__name__}: {error}", severity="error", timeout=8)
            if worker.group == "discover":
                self.choice.set_targets([], "discovery failed")
        if worker.group == "run" and worker.is_finished and not self.runs.session.running:
            self._apply_pending()  # the last updates show before the run counts as over
            self.running = False
            self.run_display.over(self.runs.session.stop_requested)
        if worker.group == "discover" and state == WorkerState.SUCCESS:
            self.choice.set_targets(worker.result or [], "")
        if worker.group == "discover" and worker.is_finished:
            # Start-up is over: its objects (widgets, CSS, discovery) live as long as the app. Frozen, they
            # are no longer rescanned by every full collection (~25 ms each, mid-run, on this machine).
            gc.freeze()

    @property
    def last_result(self) -> RunResult | None:
        """The result of the last run that ended."""
        return self.run_display.last_result

    @property
    def targets(self) -> list[Target]:
        """Targets on offer."""
        return list(self.selection.targets)

    # --- selection actions --------------------------------------------------------------------------

    def action_select_target(self, index: int) -> None:
        """Select target `index` (0-based)."""
        self.choice.select_index(index)

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
        self.run_display.redraw()
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
        if not self.runs.session.running:
            return
        self.runs.session.stop()
        self.run_display.stopping()
        self.run_display.redraw()

    # --- applying what runs report -------------------------------------------------------------------

    def on_run_poke(self, message: RunPoke) -> None:
        self._apply_pending()

    def _apply_pending(self) -> None:
        """Show what the session's digester accumulated since the last look (one frame)."""
        self.run_display.show_pending(self.runs.session.digester, self._run_context)

    def _run_context(self, update: RunStarted) -> RunContext:
        return self.runs.context(update, self.selection, replay=self.replay is not None)

    def _tick(self) -> None:
        # One tick, one frame: core sample, the run's accumulated updates and the elapsed time together.
        self._ticks += 1
        # While a workload runs, every frame is CPU taken from it: repaint once a second then.
        paint = not self.running or self._ticks % RUN_PAINT_EVERY == 0
        sample = self.runs.sample_cores(self.sources.core_sampler) if self.replay is None else None
        if not paint:
            if sample is not None:
                self._cores.push(sample.percent, paint=False)
            return
        # No batch_update(): nothing here awaits, so no frame can come between these repaints anyway, and
        # its end would wake the app's message loop at every tick.
        if sample is not None:
            self._cores.push(sample.percent)
        self.run_display.frame(self.runs.session.digester, self._run_context, running=self.running)
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

    def on_sweep_ended(self, message: SweepEnded) -> None:
        outcome = self.runs.sweep_ended(message)
        if outcome:
            self.run_display.sweep_over(outcome)
            self.run_display.redraw()

    def on_sweep_changed(self, message: SweepChanged) -> None:
        self.runs.forward(lambda: SweepChanged(message.partial))

    # --- replay -------------------------------------------------------------------------------------

    def action_replay_next(self) -> None:
        """Replay: play the next recorded run."""
        replay_keys.play_next(self)

    def action_replay_pause(self) -> None:
        """Replay: pause or resume."""
        replay_keys.toggle_pause(self)

    def action_replay_speed(self, factor: float) -> None:
        """Replay: speed ×2 or ÷2 (applies from the next run)."""
        replay_keys.change_speed(self, factor)

    def on_unmount(self) -> None:
        # Last resort when the app exits another way: the run's finally still kills its group.
        self.runs.session.close()
