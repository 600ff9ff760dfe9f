"""Shared emitter and runner for the gildash workloads (JSONL protocol v2, see docs/protocol.md).

Standard library only and importable by path from any interpreter (CPython 3.9+ with or without the
GIL, PyPy): the scripts in this folder put it on sys.path[0] by living beside it. Never imports gildash.

It owns: the one-JSON-object-per-line emitter, argument validation, the thread and process executors
(barrier, progress throttling, cooperative stop), the workers' self-timing (`SliceTimer`, the `slices`
events), SIGTERM/SIGINT handling, the parent-death watchdog and the final `summary`. A workload script
supplies a `Workload` with a module-level `work` function.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import queue
import signal
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

PROTOCOL = 2
MAX_THREADS = 1024
PROGRESS_INTERVAL_S = 0.1  # protocol: at most ~10 progress lines per second per worker
WATCHDOG_INTERVAL_S = 0.1  # parent death is noticed within this, well inside the 1 s budget
ABORT_GRACE_S = 0.5  # cooperative stop budget before child processes are terminated
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_SWITCH_INTERVAL_S = 1.0  # longer intervals only hide the hand-offs the knob is there to show


def _process_age_s() -> float:
    """Seconds since this process was created, from /proc where the OS has it, else 0."""
    try:
        with open("/proc/self/stat") as f:
            # the command name may hold spaces, so fields are counted after its closing parenthesis
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return age if 0.0 <= age < 60.0 else 0.0


# `t` counts from process creation (interpreter start-up included) on the monotonic clock.
START_NS = time.monotonic_ns() - int(_process_age_s() * 1e9)
START = START_NS / 1e9


def now() -> float:
    """Seconds since the process started (the protocol's `t`)."""
    return time.monotonic() - START


def gil_enabled() -> bool:
    """Whether the GIL is on right now; True where the interpreter cannot turn it off."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return bool(probe()) if probe is not None else True


def interpreter_info() -> dict[str, Any]:
    """The start line's `interpreter` object."""
    return {
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "executable": sys.executable,
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_enabled(),
    }


def affinity() -> list[int] | None:
    """CPUs this process may run on, or None where the OS does not say."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    try:
        return sorted(getter(0))
    except OSError:
        return None


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf (which strict JSON cannot carry) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class Emitter:
    """Writes protocol events to stdout, one flushed line each; safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event; a closed stdout (reader gone) silences the emitter instead of raising."""
        obj: dict[str, Any] = {"event": event, "t": round(now(), 6)}
        obj.update(fields)
        line = json.dumps(_json_safe(obj), allow_nan=False, separators=(",", ":"))
        with self._lock:
            if self._closed:
                return
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            except (OSError, ValueError):
                self._closed = True
                _silence_stdout()

    def error(self, message: str, tb: str | None = None) -> None:
        """Write an `error` event."""
        self.emit("error", message=message, traceback=tb)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's exit-time flush cannot raise BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def diag(message: str) -> None:
    """A diagnostic for humans: stderr only, never stdout."""
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- arguments


class UsageError(Exception):
    """Invalid command-line arguments: reported as an `error` line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(message)


def make_parser(name: str, description: str, size_help: str, default_size: int) -> argparse.ArgumentParser:
    """The options every workload shares: --threads, --size, --executor, --seed."""
    parser = _Parser(prog=name, description=description)
    parser.add_argument("--threads", type=int, default=1, help=f"worker count, 1..{MAX_THREADS} (default 1)")
    parser.add_argument(
        "--size", type=int, default=default_size, help=f"{size_help} (default {default_size})"
    )
    parser.add_argument(
        "--executor",
        choices=("thread", "process"),
        default="thread",
        help="run workers as threads of this process or as child processes (default thread)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for any generated data (default 0)")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="sys.setswitchinterval() for the run, 0 < s <= 1 (default: the interpreter's own)",
    )
    return parser


def check_common(args: argparse.Namespace) -> None:
    """Validate the shared options; raises UsageError."""
    if not 1 <= args.threads <= MAX_THREADS:
        raise UsageError(f"--threads must be between 1 and {MAX_THREADS}, got {args.threads}")
    if args.size < 1:
        raise UsageError(f"--size must be at least 1, got {args.size}")
    interval = args.switch_interval
    if interval is not None and not (math.isfinite(interval) and 0 < interval <= MAX_SWITCH_INTERVAL_S):
        raise UsageError(
            f"--switch-interval must be in (0, {MAX_SWITCH_INTERVAL_S:g}] seconds, got {interval}"
        )


def apply_switch_interval(args: argparse.Namespace) -> None:
    """sys.setswitchinterval(--switch-interval) when given (each process of the run calls it)."""
    if getattr(args, "switch_interval", None) is not None:
        sys.setswitchinterval(args.switch_interval)


# --------------------------------------------------------------------------- run state


class Run:
    """Process-wide state of one workload run: emitter, stop flag, children and clean-ups."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.emitter = Emitter()
        self.stop = threading.Event()
        self.stop_signal: int | None = None
        self.children: list[Any] = []
        self.cleanups: list[Callable[[], None]] = []
        self._cleaned = False
        self._cleanup_lock = threading.Lock()
        self.ppid = os.getppid()

    # -- life-cycle

    def install(self) -> None:
        """Install SIGTERM/SIGINT handlers (main thread only) and start the parent-death watchdog."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        threading.Thread(target=self._watchdog, name="gildash-watchdog", daemon=True).start()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        self.stop.set()

    @property
    def aborted(self) -> bool:
        """A signal asked the run to stop."""
        return self.stop_signal is not None

    def _watchdog(self) -> None:
        while True:
            time.sleep(WATCHDOG_INTERVAL_S)
            if os.getppid() != self.ppid:
                self.stop.set()
                diag(f"{self.name}: parent process {self.ppid} is gone, exiting")
                self.kill_children()
                self.run_cleanups()
                os._exit(EXIT_FAILED)

    def kill_children(self, grace_s: float = 0.0) -> None:
        """Terminate child processes (SIGTERM, then SIGKILL after grace_s) and reap them."""
        alive = [p for p in list(self.children) if p.is_alive()]
        deadline = time.monotonic() + grace_s + 0.5
        if grace_s > 0 and alive:
            for p in alive:
                _quietly(p.terminate)
            terminated = time.monotonic() + grace_s
            for p in alive:
                p.join(max(0.0, terminated - time.monotonic()))
            alive = [p for p in alive if p.is_alive()]
        for p in alive:
            _quietly(p.kill)
        for p in alive:
            p.join(max(0.0, deadline - time.monotonic()))

    def run_cleanups(self) -> None:
        """Run registered clean-ups once (temporary files etc.), whichever path ends the run."""
        with self._cleanup_lock:
            if self._cleaned:
                return
            self._cleaned = True
        for fn in reversed(self.cleanups):
            _quietly(fn)

    # -- events

    def start_line(self, params: dict[str, Any], scaling: str, timeline: dict[str, Any] | None) -> None:
        """Emit the `start` event; params gain the switch interval in force (`switch_interval_s`)."""
        params = dict(params, switch_interval_s=sys.getswitchinterval())
        self.emitter.emit(
            "start",
            protocol=PROTOCOL,
            workload=self.name,
            params=params,
            scaling=scaling,
            pid=os.getpid(),
            interpreter=interpreter_info(),
            cpu_count=os.cpu_count(),
            affinity=affinity(),
            timeline=timeline,
        )

    def emit_slices(self, worker: int, slices: list[list[float]], blocked: list[list[float]]) -> None:
        """Print one `slices` event (a SliceSink)."""
        self.emitter.emit("slices", worker=worker, slices=slices, blocked=blocked)

    def exit_code(self, ok: bool) -> int:
        """0 when ok, 128+signal when stopped by a signal, else 1."""
        if self.stop_signal is not None:
            return 128 + self.stop_signal
        return EXIT_OK if ok else EXIT_FAILED


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - clean-up must go on whatever one step raises
        diag(f"cleanup step failed: {exc!r}")


def cpu_total() -> tuple[float, float]:
    """(user, system) CPU seconds of this process plus its reaped children, finest clock available."""
    try:
        import resource  # Unix only; microsecond resolution where os.times() has clock ticks

        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime
    except (ImportError, OSError):
        t = os.times()
        return t.user + t.children_user, t.system + t.children_system


def own_cpu() -> float:
    """CPU seconds of this process alone, all its threads, children excluded."""
    return time.process_time()


def thread_cpu() -> float | None:
    """CPU seconds of the calling thread, where the platform measures it."""
    try:
        return time.thread_time()
    except (AttributeError, OSError):
        return None


# --------------------------------------------------------------------------- self-timing (slices)

TIMELINE_ENV = "GILDASH_TIMELINE"  # "0" turns the self-timing off (only to measure what it costs)
GAP_NS = 300_000  # a gap above 0.3 ms between two clock reads: the worker was off the CPU
FLUSH_NS = 250_000_000  # one `slices` event per worker about every 0.25 s
_clock_ns = time.monotonic_ns  # the clock of START_NS, so slices share the events' `t`


def timeline_enabled() -> bool:
    """Self-timing is on unless GILDASH_TIMELINE=0."""
    return os.environ.get(TIMELINE_ENV, "1").strip() != "0"


def timeline_info(check_every: int, check_unit: str) -> dict[str, Any] | None:
    """The start line's `timeline` object, or None when the self-timing is off."""
    if not timeline_enabled():
        return None
    return {
        "gap_s": GAP_NS / 1e9,
        "flush_s": FLUSH_NS / 1e9,
        "check_every": check_every,
        "check_unit": check_unit,
    }


SliceSink = Callable[[int, list[list[float]], list[list[float]]], None]
"""Receives (worker, slices, blocked) in protocol seconds: prints them, or sends them to the parent."""


class SliceTimer:
    """One worker's self-timing: on-CPU slices cut by clock gaps, blocked spans marked by the worker.

    The worker calls check() every K units of work. Between two reads less than GAP_NS apart the worker
    was on the CPU; a longer gap means it was off (waiting for the GIL or for the OS scheduler). Waits
    the workload chooses (I/O, queue, sleep) are bracketed by block()/unblock() and reported apart.
    Every FLUSH_NS the slices so far go to `sink`, the open slice split at that moment (readers merge
    touching slices). Times are nanoseconds of the monotonic clock until they are sent.
    """

    __slots__ = ("_worker", "_origin", "_sink", "_start", "_last", "_flush_at", "_slices", "_blocked")

    def __init__(self, worker: int, origin_ns: int, sink: SliceSink) -> None:
        now = _clock_ns()
        self._worker = worker
        self._origin = origin_ns
        self._sink = sink
        self._start = now  # start of the open on-CPU slice
        self._last = now  # the latest clock read
        self._flush_at = now + FLUSH_NS
        self._slices: list[tuple[int, int]] = []
        self._blocked: list[tuple[int, int]] = []

    def check(self) -> None:
        """One clock read: close the open slice when the worker was away since the last read."""
        now = _clock_ns()
        if now - self._last > GAP_NS:
            if self._last > self._start:
                self._slices.append((self._start, self._last))
            self._start = now
        self._last = now
        if now >= self._flush_at:
            self._flush(now)

    def block(self) -> int:
        """The worker is about to wait on purpose; returns the moment, for unblock()."""
        self.check()
        return self._last

    def unblock(self, began: int) -> None:
        """The wait that began at `began` is over; waits shorter than the gap stay on-CPU time."""
        now = _clock_ns()
        if now - began > GAP_NS:
            if began > self._start:
                self._slices.append((self._start, began))
            self._blocked.append((began, now))
            self._start = now
        self._last = now
        if now >= self._flush_at:
            self._flush(now)

    def close(self) -> None:
        """The worker's end: send everything, the open slice included."""
        self.check()
        self._flush(self._last)

    def _flush(self, now: int) -> None:
        if now > self._start:
            self._slices.append((self._start, now))
            self._start = now
        self._flush_at = now + FLUSH_NS
        slices, self._slices = self._slices, []
        blocked, self._blocked = self._blocked, []
        origin = self._origin
        # whole microseconds: touching ends stay equal, and the lines stay short
        on = [[(a - origin) // 1000 / 1e6, (b - origin) // 1000 / 1e6] for a, b in slices]
        off = [[(a - origin) // 1000 / 1e6, (b - origin) // 1000 / 1e6] for a, b in blocked]
        on = [span for span in on if span[1] > span[0]]
        off = [span for span in off if span[1] > span[0]]
        if on or off:
            self._sink(self._worker, on, off)


# --------------------------------------------------------------------------- workers


def _no_block() -> int:
    return 0


def _no_unblock(_began: int) -> None:
    pass


class WorkerContext:
    """Handed to `work`: tells it when to stop, throttles its progress reports and times it.

    `check` is the self-timing's clock read (None when the timeline is off: the work loop then runs
    exactly as without it); `block()`/`unblock(began)` bracket waits the workload makes on purpose.
    """

    def __init__(self, index: int, stop: Any, report: Callable[[int, int, int], None]) -> None:
        self.index = index
        self._stop = stop
        self._report = report
        self._last = 0.0
        self.stopped = False
        self.timer: SliceTimer | None = None
        self.check: Callable[[], None] | None = None
        self.block: Callable[[], int] = _no_block
        self.unblock: Callable[[int], None] = _no_unblock

    def start_timeline(self, sink: SliceSink, origin_ns: int) -> None:
        """Start the self-timing now (at the start barrier), unless GILDASH_TIMELINE=0."""
        if not timeline_enabled():
            return
        timer = SliceTimer(self.index, origin_ns, sink)
        self.timer, self.check, self.block, self.unblock = timer, timer.check, timer.block, timer.unblock

    def close_timeline(self) -> None:
        """Send the last slices (the worker is done or stopping)."""
        if self.timer is not None:
            self.timer.close()
            self.timer, self.check, self.block, self.unblock = None, None, _no_block, _no_unblock

    def should_stop(self) -> bool:
        """True once the run is being stopped; `work` returns its partial result then."""
        if self._stop.is_set():
            self.stopped = True
        return self.stopped

    def tick(self, done: int, total: int) -> bool:
        """Report progress (throttled; the final done == total always goes out); return should_stop()."""
        t = time.monotonic()
        if t - self._last >= PROGRESS_INTERVAL_S or done >= total:
            self._last = t
            self._report(self.index, done, total)
        return self.should_stop()


class Outcome:
    """What `Workload.combine` returns: the summary's result fields."""

    def __init__(self, result: Any, expected: Any, ok: bool, metrics: dict[str, Any] | None = None) -> None:
        self.result = result
        self.expected = expected
        self.ok = ok
        self.metrics = metrics or {}


class Workload:
    """A workload description; scripts fill it in and call `main()`.

    work(index, args, ctx, shared) -> result   module-level function, runs in a thread or child process
    shared(args, mp_context_or_None, run) -> obj  shared input (queue, directory); picklable for processes
    driver(args, shared, n_workers, ctx) -> dict  optional parent-side thread (a producer), started at
                                                  the barrier; its dict is passed to combine
    combine(args, results, driver_out) -> Outcome checks the workers' results after the timed section
    check_every, check_unit                       the self-timing cadence: `work` calls ctx.check() every
                                                  check_every check_units (reported in the start line)
    """

    def __init__(
        self,
        name: str,
        description: str,
        scaling: str,
        size_help: str,
        default_size: int,
        work: Callable[..., Any],
        combine: Callable[..., Outcome],
        add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
        check: Callable[[argparse.Namespace], None] | None = None,
        shared: Callable[..., Any] | None = None,
        driver: Callable[..., dict[str, Any]] | None = None,
        check_every: int = 1,
        check_unit: str = "iterations",
    ) -> None:
        self.name = name
        self.description = description
        self.scaling = scaling
        self.size_help = size_help
        self.default_size = default_size
        self.work = work
        self.combine = combine
        self.add_arguments = add_arguments
        self.check = check
        self.shared = shared
        self.driver = driver
        self.check_every = check_every
        self.check_unit = check_unit

    def parse(self, argv: list[str] | None) -> argparse.Namespace:
        """Parse and validate the command line; raises UsageError."""
        parser = make_parser(self.name, self.description, self.size_help, self.default_size)
        if self.add_arguments is not None:
            self.add_arguments(parser)
        args = parser.parse_args(argv)
        check_common(args)
        if self.check is not None:
            self.check(args)
        return args


class _Timing:
    """Barrier release time and CPU snapshot, shared by the executors."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.cpu0 = 0.0
        self.ends: dict[int, float] = {}
        self.worker_cpu: dict[int, float] = {}

    def release(self) -> None:
        self.cpu0 = own_cpu()
        self.t0 = time.monotonic()


def _run_threads(
    run: Run, wl: Workload, args: argparse.Namespace, shared: Any
) -> tuple[list[Any], Any, _Timing]:
    """Thread executor: N worker threads (+ optional driver) released together by a Barrier."""
    n = args.threads
    timing = _Timing()
    results: list[Any] = [None] * n
    driver_out: dict[str, Any] = {}
    failures: list[str] = []
    parties = n + (1 if wl.driver is not None else 0)
    barrier = threading.Barrier(parties, action=timing.release)

    def report(i: int, done: int, total: int) -> None:
        run.emitter.emit("progress", worker=i, done=done, total=total)

    def worker(i: int) -> None:
        ctx = WorkerContext(i, run.stop, report)
        try:
            barrier.wait()
            ctx.start_timeline(run.emit_slices, START_NS)
            cpu0 = thread_cpu()
            results[i] = wl.work(i, args, ctx, shared)
            end = time.monotonic()
            cpu1 = thread_cpu()
            ctx.close_timeline()
            cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
            timing.ends[i] = end
            if not ctx.stopped and timing.t0 is not None:
                run.emitter.emit(
                    "worker_done", worker=i, duration_s=end - timing.t0, cpu_s=cpu, result=results[i]
                )
        except threading.BrokenBarrierError:
            return
        except BaseException:
            failures.append(f"worker {i} failed:\n{traceback.format_exc()}")
            run.stop.set()

    def drive() -> None:
        ctx = WorkerContext(-1, run.stop, lambda *_: None)
        try:
            barrier.wait()
            driver_out.update(wl.driver(args, shared, n, ctx))  # type: ignore[misc]
        except threading.BrokenBarrierError:
            return
        except BaseException:
            failures.append(f"driver failed:\n{traceback.format_exc()}")
            run.stop.set()

    threads = [threading.Thread(target=worker, args=(i,), name=f"worker-{i}", daemon=True) for i in range(n)]
    if wl.driver is not None:
        threads.append(threading.Thread(target=drive, name="driver", daemon=True))
    for th in threads:
        th.start()
    deadline: float | None = None
    while any(th.is_alive() for th in threads):
        if run.stop.is_set():
            if deadline is None:
                barrier.abort()  # releases workers still waiting for the start
                deadline = time.monotonic() + ABORT_GRACE_S
            elif time.monotonic() > deadline:
                diag(f"{run.name}: {sum(th.is_alive() for th in threads)} thread(s) did not stop in time")
                break
        for th in threads:
            th.join(0.02)
    if failures:
        raise WorkerFailed(failures[0])
    return results, driver_out, timing


class WorkerFailed(Exception):
    """A worker raised: the run ends with an `error` line."""


def _child_main(
    work: Callable[..., Any],
    index: int,
    args: argparse.Namespace,
    shared: Any,
    messages: Any,
    go: Any,
    stop: Any,
    parent_pid: int,
    origin_ns: int,
) -> None:
    """Entry point of a process-executor child: handshake, wait for go, work, report.

    The child's slices are timed from the parent's origin_ns (one monotonic clock for the machine), so
    the parent prints them in the run's clock.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and tells us through `stop`
    apply_switch_interval(args)
    local_stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: local_stop.set())

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(EXIT_FAILED)  # orphaned: nobody reads our results any more
            if stop.is_set():
                local_stop.set()
            time.sleep(WATCHDOG_INTERVAL_S)

    threading.Thread(target=watch, name="child-watchdog", daemon=True).start()
    ctx = WorkerContext(index, local_stop, lambda i, d, t: messages.put(("progress", i, d, t)))
    try:
        messages.put(("ready", index))
        while not go.wait(0.05):
            if local_stop.is_set():
                messages.put(("stopped", index))
                return
        ctx.start_timeline(lambda i, on, off: messages.put(("slices", i, on, off)), origin_ns)
        cpu0 = time.process_time()
        result = work(index, args, ctx, shared)
        end = time.monotonic()
        ctx.close_timeline()
        kind = "stopped" if ctx.stopped else "done"
        messages.put((kind, index, end, time.process_time() - cpu0, result))
    except BaseException:
        messages.put(("error", index, traceback.format_exc()))


def spawn_context() -> Any:
    """A 'spawn' multiprocessing context: no fork of a multi-threaded parent, same on every OS."""
    return multiprocessing.get_context("spawn")


def _run_processes(
    run: Run, wl: Workload, args: argparse.Namespace, shared: Any, mp: Any
) -> tuple[list[Any], Any, _Timing]:
    """Process executor: N spawned children, released together by an Event once all are ready."""
    n = args.threads
    timing = _Timing()
    results: list[Any] = [None] * n
    driver_out: dict[str, Any] = {}
    messages = mp.Queue()
    go, stop = mp.Event(), mp.Event()
    procs = []
    for i in range(n):
        p = mp.Process(
            target=_child_main,
            args=(wl.work, i, args, shared, messages, go, stop, os.getpid(), START_NS),
            name=f"{run.name}-worker-{i}",
            daemon=True,
        )
        run.children.append(p)
        p.start()
        procs.append(p)
    ready: set[int] = set()
    finished: set[int] = set()
    dead_since: dict[int, float] = {}
    driver_thread: threading.Thread | None = None
    failure: str | None = None
    abort_deadline: float | None = None

    def drive() -> None:
        nonlocal failure
        try:
            driver_out.update(wl.driver(args, shared, n, WorkerContext(-1, run.stop, lambda *_: None)))  # type: ignore[misc]
        except BaseException:
            failure = f"driver failed:\n{traceback.format_exc()}"
            run.stop.set()

    while len(finished) < n:
        if run.stop.is_set():
            if abort_deadline is None:
                stop.set()
                abort_deadline = time.monotonic() + ABORT_GRACE_S
            elif time.monotonic() > abort_deadline:
                break
        try:
            msg = messages.get(timeout=0.02)
        except queue.Empty:
            msg = None
        if msg is not None:
            kind, i = msg[0], msg[1]
            if kind == "ready":
                ready.add(i)
                if len(ready) == n and not run.stop.is_set():
                    # children report their own CPU from go on, so the parent counts only itself
                    timing.release()
                    go.set()
                    if wl.driver is not None:
                        driver_thread = threading.Thread(target=drive, name="driver", daemon=True)
                        driver_thread.start()
            elif kind == "progress":
                run.emitter.emit("progress", worker=i, done=msg[2], total=msg[3])
            elif kind == "slices":
                run.emit_slices(i, msg[2], msg[3])
            elif kind in ("done", "stopped"):
                finished.add(i)
                if len(msg) > 2:
                    timing.ends[i], timing.worker_cpu[i], results[i] = msg[2], msg[3], msg[4]
                if kind == "done" and timing.t0 is not None:
                    run.emitter.emit(
                        "worker_done", worker=i, duration_s=msg[2] - timing.t0, cpu_s=msg[3], result=msg[4]
                    )
            elif kind == "error":
                finished.add(i)
                failure = failure or f"worker {i} failed:\n{msg[2]}"
                run.stop.set()
            continue
        for i, p in enumerate(procs):
            if i in finished or p.is_alive():
                continue
            # the last message of a child that just exited may still be in the pipe: wait a little
            first = dead_since.setdefault(i, time.monotonic())
            if time.monotonic() - first > 1.0:
                finished.add(i)
                if not run.stop.is_set():
                    failure = failure or f"worker {i} exited with code {p.exitcode} without a result"
                    run.stop.set()
    if driver_thread is not None:
        driver_thread.join(0.2 if run.stop.is_set() else None)
    deadline = time.monotonic() + 0.3  # one budget for all children, so many workers cannot add up
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    run.kill_children(grace_s=0.2)
    if failure is not None:
        raise WorkerFailed(failure)
    return results, driver_out, timing


# --------------------------------------------------------------------------- main


def main(wl: Workload, argv: list[str] | None = None) -> int:
    """Parse, run and report one workload; returns the exit status (see docs/protocol.md)."""
    run = Run(wl.name)
    try:
        args = wl.parse(argv)
    except UsageError as exc:
        run.emitter.error(f"{wl.name}: {exc}")
        return EXIT_USAGE
    try:
        run.install()
        apply_switch_interval(args)
        return _execute(run, wl, args)
    except WorkerFailed as exc:
        run.emitter.error(str(exc).splitlines()[0], str(exc))
        return EXIT_FAILED
    except BaseException as exc:
        run.emitter.error(f"{wl.name}: {type(exc).__name__}: {exc}", traceback.format_exc())
        return EXIT_FAILED
    finally:
        run.stop.set()
        run.kill_children(grace_s=0.2)
        run.run_cleanups()


def _execute(run: Run, wl: Workload, args: argparse.Namespace) -> int:
    params = dict(vars(args))
    run.start_line(params, wl.scaling, timeline_info(wl.check_every, wl.check_unit))
    mp = spawn_context() if args.executor == "process" else None
    shared = wl.shared(args, mp, run) if wl.shared is not None else None
    if mp is None:
        results, driver_out, timing = _run_threads(run, wl, args, shared)
    else:
        results, driver_out, timing = _run_processes(run, wl, args, shared, mp)
    end = max(timing.ends.values()) if timing.ends and not run.aborted else time.monotonic()
    t0 = timing.t0 if timing.t0 is not None else end
    wall = max(0.0, end - t0)
    # children's start-up (spawn, imports) is left out: each reports its CPU from the go signal on
    cpu_s = (own_cpu() - timing.cpu0 if timing.t0 is not None else 0.0) + sum(timing.worker_cpu.values())
    if run.aborted:
        outcome = Outcome(None, None, False)
    else:
        outcome = wl.combine(args, results, driver_out)
    return finish(run, wall, cpu_s, outcome, ready_s=None if timing.t0 is None else timing.t0 - START)


def finish(run: Run, wall_s: float, cpu_s: float, outcome: Outcome, ready_s: float | None = None) -> int:
    """Emit the `summary` line and return the exit status."""
    user, system = cpu_total()
    metrics = dict(outcome.metrics)
    if ready_s is not None:
        metrics.setdefault("ready_s", round(ready_s, 6))
    run.emitter.emit(
        "summary",
        wall_s=wall_s,
        wall_total_s=now(),
        cpu_user_s=user,
        cpu_sys_s=system,
        cpu_s=max(0.0, cpu_s),
        ok=bool(outcome.ok) and not run.aborted,
        result=outcome.result,
        expected=outcome.expected,
        gil_enabled=gil_enabled(),
        aborted=run.aborted,
        metrics=metrics,
    )
    return run.exit_code(bool(outcome.ok))


def entry(wl: Workload) -> None:
    """`if __name__ == "__main__": entry(WORKLOAD)` in every script."""
    sys.exit(main(wl))
