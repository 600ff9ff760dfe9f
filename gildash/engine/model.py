"""Frozen dataclasses that cross the engine boundary (engine -> CLI, UI, tests, recordings).

Owns only data shapes; never imports textual and never does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gildash.engine.machine import MachineFacts

Executor = Literal["thread", "process"]
Scaling = Literal["weak", "strong", "none"]
TargetKind = Literal["python", "rust", "command"]
RunStatus = Literal["ok", "failed", "crashed", "timeout", "stopped", "error"]
GilMode = Literal["gil", "free-threaded", "gil-forced", "native", "command"]
"""How a target runs Python threads: with the GIL, free-threaded, a free-threaded build with the GIL forced
on (PYTHON_GIL=1), native threads (the Rust baseline), or a custom command (unknown)."""


@dataclass(frozen=True)
class Target:
    """One interpreter (or the Rust baseline) a workload can run under."""

    id: str
    """Short stable id: py3.11, py3.13t, py3.13t+gil, rust."""
    label: str
    """Human label for lists, e.g. 'CPython 3.13.5 free-threaded'."""
    executable: str
    """Absolute path of the interpreter or the Rust binary ('' when unavailable and unknown)."""
    kind: TargetKind
    """python, rust or command."""
    version: str = ""
    """Version string as reported by the probe, e.g. '3.13.5'."""
    implementation: str = ""
    """cpython, pypy or rust."""
    free_threaded: bool = False
    """The build has the GIL compiled out (Py_GIL_DISABLED)."""
    gil_enabled: bool = True
    """The GIL is on at start-up under this target's environment."""
    env: tuple[tuple[str, str], ...] = ()
    """Extra environment the target needs, e.g. (('PYTHON_GIL', '1'),)."""
    available: bool = True
    """False when the target cannot run; see reason."""
    reason: str = ""
    """Why the target is unavailable (empty when available)."""
    source: str = ""
    """Where it was found: current, PATH, pyenv, uv, cache, config, cargo."""
    host: str | None = None
    """The ssh destination it runs on ([user@]host or an ssh_config alias); None: this machine."""

    @property
    def gil_mode(self) -> GilMode:
        """The one answer to "does this target run with the GIL?" (UI and CLI map it to words/colours)."""
        if self.kind == "rust":
            return "native"
        if self.kind != "python":
            return "command"
        if not self.free_threaded:
            return "gil"
        if self.gil_enabled or dict(self.env).get("PYTHON_GIL") == "1":
            return "gil-forced"
        return "free-threaded"

    @property
    def is_native_baseline(self) -> bool:
        """The native-threads baseline (Rust std::thread) that the "gap to Rust" figures compare against."""
        return self.kind == "rust"

    def gil_twin(self, targets: Sequence[Target]) -> Target | None:
        """The same free-threaded binary with the GIL forced on (or, from that twin, the free-threaded one).

        Found by executable, environment (PYTHON_GIL aside) and GIL mode, never by an id suffix; None for
        every other target.
        """
        mode = self.gil_mode
        if mode not in ("free-threaded", "gil-forced") or not self.executable:
            return None
        want: GilMode = "gil-forced" if mode == "free-threaded" else "free-threaded"
        for t in targets:
            if (
                t is not self
                and t.executable == self.executable
                and t.gil_mode == want
                and t.available
                and t._env_without_gil() == self._env_without_gil()
            ):
                return t
        return None

    def _env_without_gil(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((k, v) for k, v in self.env if k != "PYTHON_GIL"))


@dataclass(frozen=True)
class RunSpec:
    """What to run: a workload (or custom command) under a target with its parameters."""

    target: Target
    """The interpreter or binary to run under."""
    workload: str
    """Workload name (sum_squares, primes, ...) or 'custom' for --cmd."""
    threads: int = 1
    """Worker count passed as --threads."""
    size: int | None = None
    """--size; None means the workload's default."""
    executor: Executor = "thread"
    """thread or process executor inside the workload."""
    timeout_s: float | None = None
    """Stop the run after this many seconds (None: no limit)."""
    cmd: tuple[str, ...] | None = None
    """Custom command argv template ({threads}, {size}, {python} substituted); None for workloads."""
    extra_args: tuple[str, ...] = ()
    """Further workload flags, passed through unchanged."""
    sweep_id: str | None = None
    """Id of the sweep this run belongs to (None: a single run); recorded so exports can regroup it."""
    warmup: bool = False
    """An unmeasured warm-up run of a sweep."""
    calibration: bool = False
    """A size-finding run before a sweep (engine.calibrate): one thread at a trial size, not a point."""
    switch_interval_s: float | None = None
    """sys.setswitchinterval() for the bundled Python workloads (--switch-interval); None: the default."""


@dataclass(frozen=True)
class Stamped:
    """Something that happened during a run, stamped with when."""

    t: float
    """Seconds since the run began: on the workload's own clock in a protocol event (its stdout line), on the
    harness's clock from spawn in a run update (EventReceived, StderrReceived, StallChanged, ProcSample)."""


@dataclass(frozen=True)
class _WorkerEvent(Stamped):
    """A protocol event about one worker."""

    worker: int
    """0-based worker index."""


@dataclass(frozen=True)
class StartEvent(Stamped):
    """The workload's 'start' line: what it is about to do and under which interpreter."""

    workload: str
    """Workload name as the workload reports it."""
    params: dict[str, Any]
    """Parameters the workload runs with (threads, size, executor, ...)."""
    scaling: Scaling
    """weak (size per worker), strong (size total) or none."""
    pid: int | None
    """Process id of the workload."""
    implementation: str
    """cpython, pypy, rust, or '' when unknown."""
    version: str
    """Interpreter version string."""
    executable: str
    """Interpreter executable path."""
    free_threaded: bool | None
    """Py_GIL_DISABLED build (None when not reported)."""
    gil_enabled: bool | None
    """GIL state at start (None when not reported)."""
    cpu_count: int | None
    """os.cpu_count() of the workload."""
    protocol: int = 1
    """Protocol version the line claims."""
    timeline: TimelineSpec | None = None
    """How the workers time themselves (protocol 2); None when they do not send slices."""
    switch_interval_s: float | None = None
    """sys.getswitchinterval() in force in the workload (params.switch_interval_s); None when not said."""


@dataclass(frozen=True)
class TimelineSpec:
    """A start line's `timeline` object: the self-timing's cadence and resolution."""

    gap_s: float
    """A gap above this between two clock reads means the worker was off the CPU."""
    flush_s: float | None
    """Seconds between two `slices` events of one worker (None when not said)."""
    check_every: int | None
    """Units of work between two clock reads (None when not said)."""
    check_unit: str
    """What check_every counts (iterations, numbers, items, I/O calls, requests)."""


@dataclass(frozen=True)
class ProgressEvent(_WorkerEvent):
    """A 'progress' line: units done out of total for one worker."""

    done: int
    """Units finished."""
    total: int
    """Units this worker has in all."""


# Fast constructors for the two objects built per stdout line of a flood. A frozen dataclass's __init__
# sets each field through object.__setattr__; filling the instance dict in one step builds the same
# object (equal, same hash and repr, still frozen) at about half the cost. The dict goes in through the
# class's own __dict__ setter: where object.__setattr__(obj, "__dict__", d) ends up, without looking the
# name up or building the two argument tuples that call costs.
_object_new = object.__new__


def _dict_setter(cls: type) -> Callable[[Any, dict[str, Any]], None]:
    """The setter of cls's instance __dict__ (the descriptor lives on the first class up that has one)."""
    return next(vars(c)["__dict__"] for c in cls.__mro__ if "__dict__" in vars(c)).__set__  # type: ignore[no-any-return]


_set_progress_dict: Callable[[ProgressEvent, dict[str, Any]], None] = _dict_setter(ProgressEvent)


def new_progress_event(t: float, worker: int, done: int, total: int) -> ProgressEvent:
    """ProgressEvent(t, worker, done, total), for the per-line hot path (arguments already validated)."""
    event: ProgressEvent = _object_new(ProgressEvent)
    _set_progress_dict(event, {"t": t, "worker": worker, "done": done, "total": total})
    return event


@dataclass(frozen=True)
class WorkerDoneEvent(_WorkerEvent):
    """A 'worker_done' line: one worker finished."""

    duration_s: float
    """Seconds from the start barrier to this worker's end."""
    cpu_s: float | None
    """CPU seconds of this worker, where measurable."""
    result: Any
    """The worker's result value."""


@dataclass(frozen=True)
class SummaryEvent(Stamped):
    """The 'summary' line: the run's own measurement and result check."""

    wall_s: float
    """Barrier-to-end wall seconds."""
    wall_total_s: float | None
    """Start-to-summary wall seconds."""
    cpu_user_s: float | None
    """User CPU seconds of the process (and reaped children)."""
    cpu_sys_s: float | None
    """System CPU seconds of the process (and reaped children)."""
    cpu_s: float | None
    """CPU seconds consumed between barrier and end."""
    ok: bool
    """The workload's own result check."""
    result: Any
    """Combined result."""
    gil_enabled: bool | None
    """GIL state at the end (None when not reported)."""
    aborted: bool
    """Stopped by a signal before finishing."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Workload-specific extra figures."""


Span = tuple[float, float]
"""(start, end) seconds in the workload's clock (the events' `t`), end > start."""


@dataclass(frozen=True)
class SlicesEvent(_WorkerEvent):
    """A 'slices' line: one batch of a worker's on-CPU slices and blocked-on-purpose spans."""

    slices: tuple[Span, ...]
    """On-CPU slices, sorted, disjoint (a slice cut at a batch boundary continues in the next batch)."""
    blocked: tuple[Span, ...]
    """Spans the worker waited on purpose (I/O, queue, sleep), sorted, disjoint."""
    repaired: int = 0
    """Spans of the line left out (not a pair, non-finite, end not after start) or merged (overlapping)."""


@dataclass(frozen=True)
class WorkerTrack:
    """One worker's row of a timeline."""

    worker: int
    """0-based worker index."""
    slices: tuple[Span, ...]
    """On-CPU slices, sorted by start, not overlapping, touching pieces merged."""
    blocked: tuple[Span, ...]
    """Blocked-on-purpose spans, sorted by start, not overlapping."""


@dataclass(frozen=True)
class Timeline:
    """Every worker's slices of one run (or of a window of it), in the workload's clock."""

    tracks: tuple[WorkerTrack, ...] = ()
    """One per worker that reported spans, ordered by worker index."""
    start: float | None = None
    """Window start (None: from the first span)."""
    end: float | None = None
    """Window end (None: to the last span)."""
    repaired: int = 0
    """Spans dropped or clipped because they were malformed, overlapping or out of order."""


@dataclass(frozen=True)
class ErrorEvent(Stamped):
    """An 'error' line: the workload reports a failure."""

    message: str
    """One-line message."""
    traceback: str | None
    """Traceback text when there is one."""


@dataclass(frozen=True)
class MalformedLine:
    """A stdout line that is not a valid protocol event (kept, flagged, never trusted)."""

    raw: str
    """The line as received (decoded with replacement, possibly truncated)."""
    reason: str
    """Why it was rejected, one line."""
    truncated: bool = False
    """The line exceeded the length bound and was cut."""


ProtocolEvent = (
    StartEvent | ProgressEvent | WorkerDoneEvent | SlicesEvent | SummaryEvent | ErrorEvent | MalformedLine
)


@dataclass(frozen=True)
class ProcSample(Stamped):
    """One live sample of the run's process tree and threads (also a run update, as it is taken)."""

    effective_cores: float
    """Δ(user+sys CPU of the process tree) / Δwall since the previous sample."""
    thread_util: tuple[float, ...]
    """Per-thread utilization 0..1 of the workload process's busiest threads, stable order by thread id."""
    thread_ids: tuple[int, ...]
    """OS thread ids matching thread_util."""
    rss_bytes: int
    """Resident memory of the process tree."""
    processes: int
    """Processes in the tree."""


@dataclass(frozen=True)
class CoreSample:
    """One sample of per-core CPU utilization of the whole machine (a run update when taken during a run,
    recorded for replay)."""

    t: float
    """Monotonic seconds when taken."""
    percent: tuple[float, ...]
    """Percent busy per logical CPU, 0..100."""


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: one serialisable type that feeds every exporter."""

    run_id: str
    """Unique id of this run (also in its recording)."""
    workload: str
    """Workload name or 'custom'."""
    target: Target
    """Target it ran under."""
    threads: int
    """Workers that really ran (the workload's start line, else the spec's --threads)."""
    size: int | None
    """Size parameter (as reported by the workload's start line when present)."""
    executor: Executor
    """thread or process."""
    scaling: Scaling
    """weak or strong (from the start line), none when unknown."""
    status: RunStatus
    """ok, failed (result check), crashed, timeout, stopped, error."""
    wall_s: float | None
    """Workload's barrier-to-end seconds; None when it never reported a summary."""
    harness_wall_s: float
    """Seconds from spawn to exit as measured by gildash."""
    cpu_user_s: float | None
    """User CPU seconds (summary, else psutil)."""
    cpu_sys_s: float | None
    """System CPU seconds (summary, else psutil)."""
    effective_cores: float | None
    """cpu_s / wall_s from the summary, else mean of live samples."""
    ok: bool
    """The run finished with a passing result check and exit code 0."""
    exit_code: int | None
    """Process exit code (None when killed by a signal)."""
    signal: int | None
    """Signal number that ended the process, if any."""
    noisy: bool
    """Other processes used > ~10 % of a core just before the run."""
    gil_enabled_start: bool | None
    """GIL state reported at start."""
    gil_enabled_end: bool | None
    """GIL state reported at end."""
    gil_reenabled: bool
    """A free-threaded build ran with the GIL re-enabled (end state or stderr warning)."""
    gil_reenabled_by: str | None
    """Module named in CPython's re-enable warning, when known."""
    malformed_lines: int
    """stdout lines rejected by the parser."""
    truncated_lines: int
    """stdout lines cut at the length bound."""
    stderr_tail: str
    """Last lines of stderr (for failures)."""
    message: str
    """One-line human summary of what happened (the failure reason when not ok)."""
    worker_durations: tuple[float, ...] = ()
    """Per-worker duration_s from worker_done lines."""
    result_value: Any = None
    """The summary's result value."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Workload-specific figures from the summary."""
    started_at: float = 0.0
    """Unix time the run started."""
    recording: str | None = None
    """Path of the recording this run was appended to."""
    complete: bool = True
    """False when reconstructed from a recording that ended before the run finished."""
    requested_threads: int | None = None
    """--threads asked for when the workload ran another count (threads); None when it ran what was asked."""
    sweep_id: str | None = None
    """Id of the sweep the run belongs to (its spec's); None for a single run."""
    warmup: bool = False
    """The run was a sweep's unmeasured warm-up."""
    calibration: bool = False
    """The run found a sweep's size (its spec's): a trial, never a measured point."""
    parallel_overlap: float | None = None
    """Share 0..1 of the timeline's wall span with 2+ workers on the CPU (None: under 2 workers timed)."""
    median_slice_ms: float | None = None
    """Median on-CPU slice of all workers, milliseconds (None: no slices)."""
    handoffs_per_s: float | None = None
    """CPU hand-offs from one worker to another per second of the timeline (None: under 2 workers timed)."""
    switch_interval_s: float | None = None
    """The switch interval in force in the workload (its start line); None when not reported."""
    stalled_s: float = 0.0
    """Longest stretch (seconds) with no stdout line and no CPU used, once it reached the stall threshold
    (0.0: never stalled)."""
    machine: MachineFacts | None = None
    """The machine's facts read just before the run (None when not read, e.g. older recordings)."""


@dataclass(frozen=True)
class EventReceived(Stamped):
    """Run update: a stdout line was parsed."""

    event: ProtocolEvent
    """The parsed event (MalformedLine for rejected lines)."""
    raw: str
    """The raw line (possibly truncated)."""


_set_received_dict: Callable[[EventReceived, dict[str, Any]], None] = _dict_setter(EventReceived)


def new_event_received(t: float, event: ProtocolEvent, raw: str) -> EventReceived:
    """EventReceived(t, event, raw), for the per-line hot path (see new_progress_event)."""
    update: EventReceived = _object_new(EventReceived)
    _set_received_dict(update, {"t": t, "event": event, "raw": raw})
    return update


def iter_progress_received(
    t: float,
    ts: Sequence[float],
    workers: Sequence[int],
    dones: Sequence[int],
    totals: Sequence[int],
    raws: Sequence[str],
) -> Iterator[EventReceived]:
    """EventReceived(t, ProgressEvent(ts[i], workers[i], dones[i], totals[i]), raws[i]) for each line in
    order, each built only when it is asked for (arguments already validated, as new_progress_event's).

    A consumer that drops each update before taking the next keeps one alive at a time: they die young, so
    a flood no longer drives the cyclic GC over whole queued reads (what building them all up front did).
    """
    new, event_cls, update_cls = _object_new, ProgressEvent, EventReceived
    set_event, set_update = _set_progress_dict, _set_received_dict
    for line_t, worker, done, total, raw in zip(ts, workers, dones, totals, raws, strict=True):
        event = new(event_cls)  # new_progress_event and new_event_received inlined: two calls less a line
        set_event(event, {"t": line_t, "worker": worker, "done": done, "total": total})
        update = new(update_cls)
        set_update(update, {"t": t, "event": event, "raw": raw})
        yield update


@dataclass(frozen=True)
class StderrReceived(Stamped):
    """Run update: a stderr line arrived."""

    line: str
    """The line, decoded with replacement."""


@dataclass(frozen=True)
class RunStarted:
    """Run update: the process was spawned."""

    run_id: str
    """Run id."""
    spec: RunSpec
    """What is running."""
    pid: int
    """Process (and process group) id."""
    argv: tuple[str, ...]
    """Exact argv executed."""
    noisy: bool
    """Pre-run load check result."""


@dataclass(frozen=True)
class RunFinished:
    """Run update: the run is over and every process of it reaped."""

    result: RunResult
    """The final result."""


@dataclass(frozen=True)
class StallChanged(Stamped):
    """Run update: the run stalled (no stdout line and no CPU for a while) or made progress again."""

    stalled: bool
    """True when the stall began, False when output or CPU came back."""
    idle_s: float
    """Seconds without a stdout line or CPU use, up to t."""


RunUpdate = RunStarted | EventReceived | StderrReceived | ProcSample | CoreSample | StallChanged | RunFinished


@dataclass(frozen=True)
class SweepPoint:
    """Aggregated repeats of one target x thread count."""

    target_id: str
    """Target id."""
    threads: int
    """Thread count."""
    walls: tuple[float, ...]
    """wall_s of each measured repeat (warm-up excluded)."""
    median_s: float
    """Median wall."""
    min_s: float
    """Fastest wall."""
    max_s: float
    """Slowest wall."""
    mean_s: float
    """Mean wall."""
    stddev_s: float
    """Sample standard deviation of the walls (0 for one repeat)."""
    speedup: float | None
    """Weak: N*t1/tN; strong: t1/tN; None without a 1-thread point."""
    efficiency: float | None
    """speedup / N."""
    vs_rust: float | None
    """median / rust median at the same thread count (x slower); None without rust."""
    effective_cores: float | None
    """Median effective cores across repeats."""
    user_s: float | None
    """Mean user CPU seconds."""
    system_s: float | None
    """Mean system CPU seconds."""
    ok: bool
    """Every repeat passed."""
    gil_reenabled: bool = False
    """Any repeat ran with the GIL re-enabled."""
    size: int | None = None
    """--size of the point's runs (None when unknown or when its repeats differ)."""
    unit_s: float | None = None
    """Median seconds per unit of work: wall / (size x threads) for weak scaling, wall / size otherwise."""


@dataclass(frozen=True)
class AmdahlFit:
    """Amdahl's-law fit of speedup vs threads for one target."""

    target_id: str
    """Target id."""
    serial_fraction: float
    """Fitted serial fraction s in speedup = 1 / (s + (1 - s) / N), clamped to 0..1."""
    points: int
    """Number of thread counts the fit used."""
    rmse: float
    """Root-mean-square error of the fit against measured speedups."""


@dataclass(frozen=True)
class SweepResult:
    """A whole sweep: its points and fits."""

    workload: str
    """Workload name."""
    scaling: Scaling
    """weak or strong."""
    points: tuple[SweepPoint, ...]
    """One per target x threads, in plan order."""
    fits: tuple[AmdahlFit, ...]
    """One per target with >= 3 thread counts... or >= 2 (see sweep.fit_amdahl)."""
    runs: tuple[RunResult, ...] = ()
    """Every run the sweep made (warm-ups included, flagged by order)."""
    warmup_run_ids: tuple[str, ...] = ()
    """run_id of each run in runs that was an unmeasured warm-up."""
    size_fallbacks: tuple[tuple[str, str], ...] = ()
    """(target id, why) for each target whose size calibration failed, so it ran at the plan's size."""
    machine: MachineFacts | None = None
    """The machine's facts read before the sweep began (None when not read; its runs may carry their own)."""


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: targets x thread counts x repeats of one workload."""

    workload: str
    """Workload name."""
    targets: tuple[Target, ...]
    """Targets in display order."""
    threads: tuple[int, ...]
    """Thread counts, ascending."""
    repeat: int = 1
    """Measured repeats per point."""
    warmup: bool = False
    """Run one unmeasured warm-up per target first."""
    size: int | None = None
    """--size for every run (None: workload default)."""
    executor: Executor = "thread"
    """thread or process."""
    timeout_s: float | None = None
    """Per-run timeout."""
    extra_args: tuple[str, ...] = ()
    """Further workload flags for every run (a size preset's --duration, say), passed through unchanged."""
    switch_interval_s: float | None = None
    """sys.setswitchinterval() for every Python run (--switch-interval); None: each interpreter's own."""
    sizes: tuple[tuple[str, int], ...] = ()
    """Per-target --size by target id (calibrated sizes); overrides size for those targets."""


@dataclass(frozen=True)
class SweepProgress:
    """Sweep update: one more run finished; carries the partial aggregate so charts can grow."""

    done: int
    """Runs finished so far (warm-ups included)."""
    total: int
    """Runs planned in all."""
    run: RunResult
    """The run that just finished."""
    warmup: bool
    """That run was a warm-up (not measured)."""
    partial: SweepResult
    """Aggregate of every measured run so far."""
