"""The main screen: targets, per-core CPU, the run panel, the effective-cores gauge, thread lanes, the log.

Owns the run/sweep/replay/demo workers (one run = one async worker in group "run") and applies what they
post. Workers never touch widgets; sampling, process I/O and file writes stay off the UI's critical path.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from gildash.engine.model import (
    CoreSampleTaken,
    Executor,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunUpdate,
    SweepPlan,
    SweepResult,
    Target,
)
from gildash.ui.digest import RunDigest, RunDigester
from gildash.ui.messages import RunPoke, SweepEnded, SweepStep
from gildash.ui.sources import (
    SIZE_NAMES,
    WORKLOADS,
    BackgroundTap,
    RunLike,
    RunTap,
    Sources,
    preset,
    recording_targets,
)
from gildash.ui.widgets.cores import CoresPanel
from gildash.ui.widgets.gauge import Gauge
from gildash.ui.widgets.log_view import LogView
from gildash.ui.widgets.run_panel import RunConfig, RunPanel
from gildash.ui.widgets.targets import MAX_KEYED, TargetsPanel, badge, gil_twin_index
from gildash.ui.widgets.thread_lanes import ThreadLanes

if TYPE_CHECKING:
    from gildash.engine.history import SessionHistory
    from gildash.engine.recording import RecordedRun, Recorder, Recording

YIELD_EVERY = 500
"""Updates processed between forced yields to the event loop (a flood must not starve the UI)."""
TICK_S = 0.25
"""Core sampling and screen update period (4 Hz): run updates accumulate between ticks."""
RUN_PAINT_EVERY = 2
"""Ticks between repaints while a run goes (2 Hz; sampling stays at 4 Hz, no sample is dropped)."""
LOG_EVERY = 4
"""Ticks between log flushes while a run goes (1 Hz): scrolling repaints every visible log line."""
MAX_THREADS = 64
"""Thread count upper bound of `+`."""
RUST_WORKLOADS = ("sum_squares", "primes")
"""Workloads the Rust baseline implements."""
DEMO_PAUSE_S = 4.0
"""Seconds the demo lingers on a finished run so the audience can read it."""
STOP_WAIT_S = 6.0
"""Seconds quitting waits for a stopped run to reap its processes (SIGKILL comes after 2 s)."""


def headline_targets(
    targets: Sequence[Target], selected: Target | None, workload: str, executor: str
) -> list[Target]:
    """What `s` sweeps: the selected target plus the first GIL CPython, the first free-threaded one, rust.

    Kept in discovery order; rust only for the workloads it implements with the thread executor.
    """
    usable = [t for t in targets if t.available]
    picks: list[Target] = []
    if selected is not None and selected.available:
        picks.append(selected)
    gil = next((t for t in usable if t.kind == "python" and not t.free_threaded), None)
    ft = next((t for t in usable if t.kind == "python" and t.free_threaded and not t.gil_enabled), None)
    rust = next((t for t in usable if t.kind == "rust"), None)
    for t in (gil, ft, rust):
        if t is not None and t not in picks:
            picks.append(t)
    if workload not in RUST_WORKLOADS or executor != "thread":
        picks = [t for t in picks if t.kind != "rust"]
    order = {t.id: i for i, t in enumerate(targets)}
    return sorted(picks, key=lambda t: order.get(t.id, len(order)))


def default_selection(targets: Sequence[Target]) -> int:
    """The target selected after discovery: the interpreter running gildash, else the first available."""
    for i, t in enumerate(targets):
        if t.available and t.source == "current":
            return i
    return next((i for i, t in enumerate(targets) if t.available), 0)


class DashboardScreen(Screen[None]):
    """Everything on one screen; keyboard first."""

    # Its .tcss is loaded by the app: CSS_PATH of a default screen (get_default_screen) is not read.
    CSS_FILE = Path(__file__).with_suffix(".tcss")

    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(str(n), f"select_target({n - 1})", f"Target {n}", id=f"target.{n}", show=False)
            for n in range(1, MAX_KEYED + 1)
        ],
        Binding("r", "run", "Run", id="run.start"),
        Binding("x,escape", "stop", "Stop", id="run.stop"),
        Binding("s", "sweep", "Sweep", id="run.sweep"),
        Binding("S", "sweep(True)", "Sweep to 2× cores", id="run.sweep_wide", show=False),
        Binding("g", "toggle_gil", "GIL twin", id="target.gil_twin"),
        Binding("w", "cycle_workload", "Workload", id="config.workload"),
        Binding("plus,equals_sign", "threads(1)", "Threads +", id="config.threads_up", key_display="+"),
        Binding("minus", "threads(-1)", "Threads −", id="config.threads_down", key_display="-", show=False),
        Binding("z", "cycle_size", "Size", id="config.size", show=False),
        Binding("p", "toggle_executor", "Threads/processes", id="config.executor", show=False),
        Binding("n", "replay_next", "Next recorded run", id="replay.next", show=False),
        Binding("space", "replay_pause", "Pause replay", id="replay.pause", show=False),
        Binding("right_square_bracket", "replay_speed(2.0)", "Replay faster", id="replay.faster", show=False),
        Binding("left_square_bracket", "replay_speed(0.5)", "Replay slower", id="replay.slower", show=False),
    ]

    running: reactive[bool] = reactive(False)
    """A run or sweep is in progress."""
    failed: reactive[bool] = reactive(False)
    """The last run did not end ok."""
    target_kind: reactive[str] = reactive("")
    """Badge kind of the selected target (gil, ft, forced, native, ...)."""

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
        self.replay_path = replay
        self.demo = demo
        self.speed = speed if speed > 0 else 1.0
        self.targets: list[Target] = []
        self.selected = 0
        self.workload = WORKLOADS[0]
        self.threads = max(1, min(sources.cpu_count, 8))
        self.size_name = "medium"
        self.executor: Executor = "thread"
        self.cores = max(1, sources.cpu_count)
        self.reenabled: set[str] = set()
        self.last_result: RunResult | None = None
        self.sweep_partial: SweepResult | None = None
        self._run: RunLike | None = None
        self._run_key = 0
        self._run_started: float | None = None
        self._stop_requested = False
        self._recorded: list[RecordedRun] = []
        self._replay_index = 0
        self._paused = False
        self._recorder: Recorder | None = None
        self._discovered = asyncio.Event()
        self._note = ""
        self._run_worker_obj: Worker[Any] | None = None
        self._digester = RunDigester()
        """Runs' accumulated updates (the run worker adds, the tick takes)."""
        self._tap_obj: BackgroundTap | None = None
        """The recording writer of the current run."""
        self._ticks = 0
        """Ticks so far (the log flushes every LOG_EVERY-th while a run goes)."""

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
                yield LogView(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#targets-box").border_title = "Targets"
        self.query_one("#cores-box").border_title = "CPU cores"
        self.query_one("#run-box").border_title = "Run"
        self.query_one("#meter-box").border_title = "Effective cores · thread lanes"
        self.query_one("#log", LogView).border_title = "Log"
        self._update_banner()
        self._update_config()
        self.set_interval(TICK_S, self._tick, name="tick")
        if self.replay_path is not None:
            self._load_recording(self.replay_path)
        else:
            self._discover()
        if self.demo:
            self.run_worker(self._demo_loop(), group="demo", name="demo", exit_on_error=False)

    def _update_banner(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" gildash ", style="bold reverse")
        text.append("  the GIL, visible")
        if self.demo:
            text.append("   demo — press q to quit", style="bold")
        elif self.replay_path is not None:
            state = "paused" if self._paused else f"×{self.speed:g}"
            text.append(f"   replay {self.replay_path.name} ({state}) — r/n next run, space pause, ] [ speed")
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
        from gildash.engine.recording import read_recording

        return read_recording(path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes surface: results applied, errors notified."""
        worker, state = event.worker, event.state
        if state == WorkerState.ERROR:
            error = worker.error
            what = {"discover": "discovery", "run": "run", "demo": "demo"}.get(worker.group, worker.group)
            self.notify(f"{what} failed: {type(error).__name__}: {error}", severity="error", timeout=8)
            if worker.group == "discover":
                self._set_targets([], note="discovery failed")
        if worker.group == "run" and state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            if worker is self._run_worker_obj or self._run_worker_obj is None:
                self._apply_pending()  # the last updates show before the run counts as over
                self.running = False
                self._run = None
                panel = self.query_one(RunPanel)
                if panel.state in ("running", "stopping"):
                    panel.state = "stopped" if self._stop_requested else "idle"
                    panel.changed()
        if worker.group == "discover" and state == WorkerState.SUCCESS:
            result = worker.result
            if isinstance(result, list):
                self._set_targets(result)
            elif result is not None:
                self._set_recording(result)

    def _set_targets(self, targets: Sequence[Target], note: str = "") -> None:
        self.targets = list(targets)
        self.selected = default_selection(self.targets) if self.targets else 0
        self._refresh_targets(note)
        self._discovered.set()
        # Start-up is over: its objects (widgets, CSS, discovery) live as long as the app. Frozen, they are
        # no longer rescanned by every full collection (~25 ms each, mid-run, on this machine).
        gc.freeze()

    def _set_recording(self, recording: Recording) -> None:
        self._recorded = list(recording.runs)
        note = f"{len(self._recorded)} recorded run{'s' if len(self._recorded) != 1 else ''}"
        if recording.skipped:
            note += f" · {recording.skipped} unreadable lines skipped"
        self.targets = recording_targets(recording)
        self.selected = 0
        self._refresh_targets(note)
        self._discovered.set()
        self.query_one(LogView).add_lines([("note", f"replay: {note}; press r to play the first run")])

    def _refresh_targets(self, note: str | None = None) -> None:
        panel = self.query_one(TargetsPanel)
        if note is not None:
            self._note = note
        panel.show(self.targets, self.reenabled, self._note)
        panel.selected = self.selected
        target = self.selected_target
        self.target_kind = badge(target, target.id in self.reenabled)[1] if target else ""
        self._update_config()

    @property
    def selected_target(self) -> Target | None:
        """The target `r` runs (None before discovery)."""
        return self.targets[self.selected] if 0 <= self.selected < len(self.targets) else None

    # --- configuration actions ----------------------------------------------------------------------

    def _update_config(self) -> None:
        target = self.selected_target
        p = preset(self.workload, self.size_name)
        self.query_one(RunPanel).set_config(
            RunConfig(
                self.workload,
                self.threads,
                self.size_name,
                p.note,
                self.executor,
                target.id if target else "",
            )
        )

    def action_select_target(self, index: int) -> None:
        """Select target `index` (0-based)."""
        if not 0 <= index < len(self.targets):
            self.notify(f"no target {index + 1}", severity="warning", timeout=3)
            return
        self.selected = index
        self._refresh_targets()

    def action_toggle_gil(self) -> None:
        """Switch between a free-threaded target and its `+gil` twin."""
        twin = gil_twin_index(self.targets, self.selected)
        if twin is None:
            target = self.selected_target
            name = target.id if target else "this target"
            self.notify(
                f"{name} has no GIL twin (only free-threaded builds do)", severity="warning", timeout=3
            )
            return
        self.selected = twin
        self._refresh_targets()

    def action_cycle_workload(self) -> None:
        """Next workload."""
        self.workload = WORKLOADS[(WORKLOADS.index(self.workload) + 1) % len(WORKLOADS)]
        self._update_config()

    def action_threads(self, step: int) -> None:
        """More or fewer threads (1..64)."""
        self.threads = max(1, min(MAX_THREADS, self.threads + step))
        self._update_config()

    def action_cycle_size(self) -> None:
        """Next size preset (small, medium, large)."""
        self.size_name = SIZE_NAMES[(SIZE_NAMES.index(self.size_name) + 1) % len(SIZE_NAMES)]
        self._update_config()

    def action_toggle_executor(self) -> None:
        """Threads or processes inside the workload."""
        self.executor = "process" if self.executor == "thread" else "thread"
        self._update_config()

    def current_spec(self, target: Target | None = None) -> RunSpec | None:
        """The RunSpec `r` would start (None before discovery)."""
        target = target or self.selected_target
        if target is None:
            return None
        p = preset(self.workload, self.size_name)
        return RunSpec(target, self.workload, self.threads, p.size, self.executor, extra_args=p.extra_args)

    # --- runs -------------------------------------------------------------------------------------

    def action_run(self) -> None:
        """Run the selected target (in replay: play the next recorded run)."""
        if self.replay_path is not None:
            self.action_replay_next()
            return
        if self.running:
            self.notify("a run is already going (x stops it)", severity="warning", timeout=3)
            return
        target = self.selected_target
        if target is None:
            self.notify("still discovering interpreters…", severity="warning", timeout=3)
            return
        if not target.available:
            self.notify(f"{target.id} is unavailable: {target.reason}", severity="warning", timeout=5)
            return
        if target.kind == "rust" and (self.workload not in RUST_WORKLOADS or self.executor != "thread"):
            self.notify("the Rust baseline runs only sum_squares and primes with threads", severity="warning")
            return
        spec = self.current_spec(target)
        assert spec is not None
        self.start_run_worker(lambda: self.sources.start_run(spec))

    def start_run_worker(self, make_run: Callable[[], RunLike]) -> Worker[RunResult | None]:
        """Start one run in the exclusive "run" worker."""
        self.running = True
        self._stop_requested = False
        self.query_one(RunPanel).sweep = None

        async def single() -> RunResult | None:
            run = make_run()
            result = await self._drive(run)
            if result is not None:
                self._add_run(result)
            return result

        worker = self.run_worker(single(), group="run", name="run", exclusive=True, exit_on_error=False)
        self._run_worker_obj = worker
        return worker

    def _add_run(self, result: RunResult) -> None:
        try:
            self.history.add_run(result)
        except Exception as exc:  # history is a nicety: a broken one never loses the run on screen
            self.notify(f"history: {exc}", severity="warning")

    def _tap(self, run: RunLike) -> BackgroundTap | None:
        if self.sources.record_dir is None or self.replay_path is not None:
            return None
        from gildash.engine.recording import Recorder, RecordingError

        if self._recorder is None:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            try:
                self._recorder = Recorder(self.sources.record_dir / f"dashboard-{stamp}.jsonl")
            except RecordingError as exc:
                self.notify(f"not recording: {exc}", severity="warning")
                return None
        return BackgroundTap(RunTap(self._recorder, run.run_id))

    async def _drive(self, run: RunLike) -> RunResult | None:
        """Iterate one run's updates into a RunDigester the screen drains at TICK_S; returns the result."""
        self._run = run
        self._run_key += 1
        digester = self._digester
        tap = self._tap_obj = self._tap(run)
        result: RunResult | None = None
        since_yield = 0
        try:
            async for update in run.updates():
                if tap is not None:
                    tap(update)
                digester.add(update)
                if isinstance(update, RunStarted | RunFinished):
                    if isinstance(update, RunFinished):
                        result = update.result
                    # Start and end show at once; everything in between waits for the next tick.
                    self.post_message(RunPoke(self._run_key))
                since_yield += 1
                if since_yield >= YIELD_EVERY:
                    # A flood arrives without awaiting; let the UI breathe.
                    since_yield = 0
                    await asyncio.sleep(0)
        finally:
            self.post_message(RunPoke(self._run_key))
            if tap is not None:
                # Drain the writer thread off the event loop: the recording gets every line, the UI waits not.
                await asyncio.to_thread(tap.close)
                if self._tap_obj is tap:
                    self._tap_obj = None
            if self._recorder is not None and self._recorder.error:
                self.notify(self._recorder.error, severity="warning")
        return result

    def on_run_poke(self, message: RunPoke) -> None:
        # Never stale: one digester for the screen keeps each run's updates apart and in order.
        self._apply_pending()

    def _apply_pending(self) -> None:
        """Show what the current run's digester accumulated since the last look (one frame)."""
        digester = self._digester
        if not digester.pending:
            return
        with self.app.batch_update():
            for digest in digester.take():
                self.apply_digest(digest)

    def apply_digest(self, digest: RunDigest) -> None:
        """Apply one digest of run updates to the widgets."""
        gauge = self.query_one(Gauge)
        if digest.started is not None:
            self._on_started(digest.started)
        if digest.cpu_count is not None and digest.cpu_count != self.cores:
            self.cores = digest.cpu_count
            gauge.set_cores(self.cores)
        if digest.progress:
            self.query_one(RunPanel).update_progress(digest.progress)
        if digest.samples:
            self.query_one(ThreadLanes).push_many(
                [(taken.sample.thread_ids, taken.sample.thread_util) for taken in digest.samples]
            )
            if digest.finished is None:
                gauge.set_value(digest.samples[-1].sample.effective_cores)
        if digest.core_samples and self.replay_path is not None:  # live mode samples cores itself at 4 Hz
            cores = self.query_one(CoresPanel)
            for core_taken in digest.core_samples:
                cores.push(core_taken.sample.percent)
        if digest.lines or digest.skipped:
            self.query_one(LogView).queue_lines(list(digest.lines), digest.skipped)
        if digest.finished is not None:
            self._on_finished(digest.finished.result)

    def apply_updates(self, updates: Sequence[RunUpdate]) -> None:
        """Apply a burst of run updates to the widgets (as the run worker would, in one digest per run)."""
        digester = RunDigester()
        for update in updates:
            digester.add(update)
        for digest in digester.take():
            self.apply_digest(digest)
        self.query_one(LogView).flush()

    def _on_started(self, update: RunStarted) -> None:
        self._run_started = self.sources.clock()
        self.failed = False
        log = self.query_one(LogView)
        log.reset()
        log.add_lines([("note", "$ " + " ".join(update.argv) if update.argv else f"run {update.run_id}")])
        if update.noisy:
            log.add_lines([("note", "the machine was busy before this run: figures may be noisy")])
        self.query_one(ThreadLanes).clear()
        self.query_one(Gauge).set_value(None)
        self.query_one(RunPanel).start()
        if self.replay_path is not None:
            self._select_id(update.spec.target.id)
            spec = update.spec
            # A replay shows the recorded run's parameters, not the dashboard's own settings.
            self.query_one(RunPanel).set_config(
                RunConfig(
                    spec.workload,
                    spec.threads,
                    f"{spec.size:,}" if spec.size is not None else "default",
                    "recorded",
                    spec.executor,
                    spec.target.id,
                )
            )

    def _on_finished(self, result: RunResult) -> None:
        self.last_result = result
        self._run_started = None
        self.query_one(RunPanel).finish(result)
        self.query_one(Gauge).set_value(result.effective_cores, final=True)
        self.failed = result.status != "ok"
        if result.gil_reenabled and result.target.id not in self.reenabled:
            self.reenabled.add(result.target.id)
            self._refresh_targets()
        if result.stderr_tail and result.status in ("crashed", "error", "failed"):
            tail = result.stderr_tail.strip().splitlines()[-3:]
            self.query_one(LogView).add_lines([("err", line) for line in tail])
        self.query_one(LogView).add_lines([("note", result.message)] if result.message else [])

    def _select_id(self, target_id: str) -> None:
        for i, t in enumerate(self.targets):
            if t.id == target_id:
                if i != self.selected:
                    self.selected = i
                    self._refresh_targets()
                return

    def action_stop(self) -> None:
        """Stop the run (or sweep) in progress: SIGTERM to its process group, SIGKILL after 2 s."""
        if not self.running:
            return
        self._stop_requested = True
        if self._run is not None:
            self._run.stop()
        panel = self.query_one(RunPanel)
        panel.state = "stopping"
        panel.changed()

    async def stop_and_wait(self, timeout: float = STOP_WAIT_S) -> None:
        """Stop the run and demo, and wait until the run's processes are reaped (cancel after timeout)."""
        for worker in list(self.workers):
            if worker.group == "demo":
                worker.cancel()
        self._stop_requested = True
        if self._run is not None:
            self._run.stop()
        pending = [w for w in self.workers if w.group == "run" and not w.is_finished]
        for worker in pending:
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(worker.wait())), timeout)
            except Exception:
                worker.cancel()  # cancelling closes updates(), whose finally kills the process group

    def _tick(self) -> None:
        # One tick, one frame: core sample, the run's accumulated updates and the elapsed time together.
        self._ticks += 1
        # While a workload runs, every frame is CPU taken from it: repaint at half the sampling rate then.
        paint = not self.running or self._ticks % RUN_PAINT_EVERY == 0
        with self.app.batch_update():
            if self.replay_path is None:
                try:
                    sample = self.sources.core_sampler()
                except Exception:
                    sample = None  # a failed read skips one frame; the next tick tries again
                if sample is not None:
                    self.query_one(CoresPanel).push(sample.percent, paint=paint)
                    if self._run is not None and self._tap_obj is not None:
                        self._tap_obj(CoreSampleTaken(sample))  # the recording's per-core samples for replays
            if not paint:
                return
            self._apply_pending()
            if not self.running or self._ticks % LOG_EVERY == 0:
                self.query_one(LogView).flush()
            if self.running and self._run_started is not None:
                self.query_one(RunPanel).set_elapsed(max(0.0, self.sources.clock() - self._run_started))

    # --- sweeps -------------------------------------------------------------------------------------

    def action_sweep(self, wide: bool = False) -> None:
        """Sweep the selected target and the headline ones over 1..cores threads (S: up to 2× cores)."""
        if self.replay_path is not None:
            self.notify("sweeps need live runs (not available in replay)", severity="warning")
            return
        if self.running:
            self.notify("a run is already going (x stops it)", severity="warning", timeout=3)
            return
        targets = headline_targets(self.targets, self.selected_target, self.workload, self.executor)
        if not targets:
            self.notify("no available targets to sweep", severity="warning")
            return
        self.start_sweep(self.sweep_plan(targets, wide))

    def sweep_plan(self, targets: Sequence[Target], wide: bool = False) -> SweepPlan:
        """The plan `s` runs for these targets."""
        p = preset(self.workload, self.size_name)
        top = self.cores
        threads = tuple(range(1, top + 1)) + ((2 * top,) if wide else ())
        return SweepPlan(
            self.workload, tuple(targets), threads, repeat=1, size=p.size, executor=self.executor
        )

    def start_sweep(self, plan: SweepPlan) -> Worker[SweepResult | None]:
        """Start a sweep in the exclusive "run" worker."""
        self.running = True
        self._stop_requested = False
        self.sweep_partial = None
        extra = preset(plan.workload, self.size_name).extra_args
        worker = self.run_worker(
            self._drive_sweep(plan, extra), group="run", name="sweep", exclusive=True, exit_on_error=False
        )
        self._run_worker_obj = worker
        return worker

    async def _drive_sweep(self, plan: SweepPlan, extra: tuple[str, ...]) -> SweepResult | None:
        from gildash.engine.sweep import run_sweep

        async def run_fn(spec: RunSpec) -> RunResult:
            result = await self._drive(self.sources.start_run(replace(spec, extra_args=extra)))
            if result is None:
                raise RuntimeError(f"run of {spec.target.id} ended without a result")
            return result

        final: SweepResult | None = None
        stopped = False
        async for progress in run_sweep(plan, run_fn):
            final = progress.partial
            self.post_message(SweepStep(progress))
            if self._stop_requested:
                stopped = True
                break
        self.post_message(SweepEnded(final, stopped))
        return final

    def on_sweep_step(self, message: SweepStep) -> None:
        progress = message.progress
        self.sweep_partial = progress.partial
        panel = self.query_one(RunPanel)
        panel.sweep = (progress.done, progress.total)
        panel.changed()
        for screen in self.app.screen_stack:
            update = getattr(screen, "update_sweep", None)
            if callable(update) and screen is not self:
                update(progress.partial)

    def on_sweep_ended(self, message: SweepEnded) -> None:
        if message.result is not None and message.result.runs:
            try:
                self.history.add_sweep(message.result)
            except Exception as exc:
                self.notify(f"history: {exc}", severity="warning")
        panel = self.query_one(RunPanel)
        if panel.sweep is not None:
            done, total = panel.sweep
            panel.extra = f"sweep {'stopped' if message.stopped else 'done'} ({done}/{total} runs)"
            panel.sweep = None
            panel.changed()
        for screen in self.app.screen_stack:
            update = getattr(screen, "update_runs", None)
            if callable(update) and screen is not self:
                update()

    # --- replay -------------------------------------------------------------------------------------

    def action_replay_next(self) -> None:
        """Replay: play the next recorded run."""
        if self.replay_path is None:
            self.notify(
                "n plays recorded runs (start with gildash replay FILE)", severity="warning", timeout=3
            )
            return
        if not self._recorded:
            self.notify("the recording is still loading (or holds no runs)", severity="warning", timeout=3)
            return
        from gildash.engine.recording import ReplayRun

        recorded = self._recorded[self._replay_index % len(self._recorded)]
        self._replay_index += 1
        self._paused = False
        self._update_banner()
        self.start_run_worker(lambda: ReplayRun(recorded, speed=self.speed))

    def action_replay_pause(self) -> None:
        """Replay: pause or resume."""
        pause = getattr(self._run, "pause", None)
        if self.replay_path is None or not callable(pause):
            return
        self._paused = not self._paused
        pause(self._paused)
        self._update_banner()

    def action_replay_speed(self, factor: float) -> None:
        """Replay: speed ×2 or ÷2 (applies from the next run)."""
        if self.replay_path is None:
            return
        self.speed = max(0.125, min(64.0, self.speed * factor))
        self._update_banner()
        self.notify(f"replay speed ×{self.speed:g} (from the next run)", timeout=2)

    # --- demo ---------------------------------------------------------------------------------------

    async def _demo_loop(self) -> None:
        """Unattended: GIL run, free-threaded run, +gil run, sweep with rust; repeat."""
        await self._discovered.wait()
        while True:
            gil = next(
                (t for t in self.targets if t.available and t.kind == "python" and not t.free_threaded), None
            )
            ft = next(
                (t for t in self.targets if t.available and t.free_threaded and not t.gil_enabled), None
            )
            twin_i = gil_twin_index(self.targets, self.targets.index(ft)) if ft is not None else None
            twin = self.targets[twin_i] if twin_i is not None else None
            steps = [t for t in (gil, ft, twin) if t is not None]
            if not steps:
                self.notify("demo: no runnable targets", severity="error")
                return
            for target in steps:
                await self._wait_idle()
                self._select_id(target.id)
                spec = self.current_spec(target)
                assert spec is not None
                worker = self.start_run_worker(lambda spec=spec: self.sources.start_run(spec))  # type: ignore[misc]
                await self._wait_worker(worker)
                await asyncio.sleep(DEMO_PAUSE_S)
            await self._wait_idle()
            targets = headline_targets(self.targets, None, self.workload, self.executor)
            worker2 = self.start_sweep(self.sweep_plan(targets))
            await self._wait_worker(worker2)
            await asyncio.sleep(DEMO_PAUSE_S)

    async def _wait_idle(self) -> None:
        while self.running:
            await asyncio.sleep(0.2)

    async def _wait_worker(self, worker: Worker[Any]) -> None:
        while not worker.is_finished:
            await asyncio.sleep(0.1)

    def on_unmount(self) -> None:
        # Last resort when the app exits another way: the run's finally still kills its group.
        if self._run is not None:
            self._run.stop()
        if self._tap_obj is not None:
            self._tap_obj.close(timeout=2.0)  # let the writer thread finish before the file closes
        if self._recorder is not None:
            self._recorder.close()
