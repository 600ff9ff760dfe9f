"""The life-cycle of one run: spawn a workload in its own process group, stream and sample it, reap it.

Owns argv/env construction, the bounded stdout/stderr readers, live sampling, stop/timeout/kill and the
final RunResult. Guarantees: `Run.updates()` yields RunStarted first and RunFinished last, always; every
process of the run (its whole group plus any descendant seen by the sampler) is gone before
RunFinished. Never runs a shell; never imports textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import secrets
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gildash.engine import catalog, paths
from gildash.engine.machine import MachineFacts, read_machine
from gildash.engine.model import (
    CoreSample,
    ProcSample,
    ProgressEvent,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunStatus,
    RunUpdate,
    StderrReceived,
    Target,
    iter_progress_received,
    new_event_received,
    new_progress_event,
)
from gildash.engine.protocol import (
    EventTally,
    ProgressColumns,
    gil_reenabled_module,
    parse_line,
    parse_progress_columns,
)
from gildash.engine.reaper import OWNER_MARKER, RUN_MARKER, kill_marked, owner_value, reap_orphans
from gildash.engine.record_tap import RunTap
from gildash.engine.safejson import plain
from gildash.engine.sampler import CoreSampler, TreeSampler, kill_processes, system_noise
from gildash.engine.stall import STALL_AFTER_S, StallWatch

if TYPE_CHECKING:
    from gildash.engine.recording import Recorder

ENV_ALLOW = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TERM",
    "TMPDIR",
    "PYTHONPATH",
    "PYTHON_CPU_COUNT",
    "SYSTEMROOT",
)
"""Variables copied from our environment into a run's; everything else is dropped."""
MAX_SWITCH_INTERVAL_S = 1.0
"""Upper bound on --switch-interval (the workloads refuse more)."""
KILL_GRACE_S = 2.0
"""Seconds between SIGTERM and SIGKILL."""
DRAIN_S = 0.5
"""After the run's processes are gone, how long its pipes may still be read (one we never found may hold
them)."""
NOISE_CORES = 0.1
"""Other processes using more than this many cores before a run make it 'noisy'."""
STDERR_TAIL_LINES = 50
STDERR_TAIL_BYTES = 8192
_QUEUE_BATCHES = 4  # bounded: a flooding workload is throttled through its pipe, never dropped
_BATCH_MAX = 256  # updates per batch: at most _QUEUE_BATCHES * _BATCH_MAX wait (plus one read in hand)
_READ_CHUNK = 1 << 16
READ_GATHER_S = 0.25
"""A pipe whose writer is slow rests this long after each read: a workload that flushes each line (most
do, ~50 a second) then costs one wake-up, parse and hand-off per 0.25 s (the dashboard's sampling period)
instead of one per line. A line's receive time is at most this late."""
GATHER_MAX_BYTES = 16384
"""A writer that puts more than this (a quarter of a pipe) in a READ_GATHER_S is read at once, never left
to fill the pipe and block: a flood is never held back."""
GATHER_WINDOW_S = 0.5
"""How often a pipe's write rate is looked at again (reads start ungathered until the first look)."""


class _ReadGate:
    """Whether a pipe may rest READ_GATHER_S after a read: only while its writer is slow."""

    def __init__(self) -> None:
        self.resting = False
        """Rest after reads (the writer was slow over the last window)."""
        self._since = time.monotonic()
        self._bytes = 0

    def read(self, size: int) -> bool:
        """Count a read of size bytes; True when the pipe may rest now."""
        now = time.monotonic()
        self._bytes += size
        if size >= GATHER_MAX_BYTES:
            self.resting, self._since, self._bytes = False, now, 0  # a burst: read at full speed at once
        elif now - self._since >= GATHER_WINDOW_S:
            rate = self._bytes / (now - self._since)
            self.resting, self._since, self._bytes = rate * READ_GATHER_S < GATHER_MAX_BYTES, now, 0
        return self.resting


class _ProgressLines:
    """A queued batch of one read's well-formed progress lines, kept as parsed columns: iterating builds its
    EventReceived updates one at a time, as the consumer takes them (see model.iter_progress_received)."""

    __slots__ = ("columns", "raws", "t")

    def __init__(self, t: float, columns: ProgressColumns, raws: list[str]) -> None:
        self.t = t
        """Harness seconds when the read arrived (every update's t)."""
        self.columns = columns
        """The lines' t, worker, done and total (parse_progress_columns)."""
        self.raws = raws
        """The lines themselves."""

    def __len__(self) -> int:
        return len(self.raws)

    def __iter__(self) -> Iterator[RunUpdate]:
        return iter_progress_received(self.t, *self.columns, self.raws)

    def sliced(self, start: int, stop: int) -> _ProgressLines:
        """The lines start:stop as a batch of their own."""
        ts, workers, dones, totals = self.columns
        return _ProgressLines(
            self.t,
            (ts[start:stop], workers[start:stop], dones[start:stop], totals[start:stop]),
            self.raws[start:stop],
        )

    def last_per_worker(self) -> dict[int, ProgressEvent]:
        """Each worker's last progress event in this batch (what EventTally.add keeps of them)."""
        ts, workers, dones, totals = self.columns
        last = dict(zip(workers, range(len(workers)), strict=True))  # a later line of a worker wins
        return {w: new_progress_event(ts[i], w, dones[i], totals[i]) for w, i in last.items()}


_Batch = list[RunUpdate] | _ProgressLines
"""One queue item: updates in order (RunFinished always alone in a list of its own)."""


class _ExitProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol plus a future set when the process exits, whoever still holds its pipes.

    asyncio's Process.wait() returns only once every pipe is closed too, so a descendant that keeps the
    workload's stdout would hold the run open as long as it lives.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[Any] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(time.monotonic())


class RunSpecError(ValueError):
    """A RunSpec that cannot be turned into a command line; the message is one line for the user."""


def new_run_id() -> str:
    """A unique, sortable run id: UTC timestamp plus random hex."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


def list_workloads() -> list[str]:
    """Names of the bundled workloads (workloads/*.py, helpers starting with '_' excluded)."""
    try:
        return sorted(p.stem for p in paths.workloads_dir().glob("*.py") if not p.name.startswith("_"))
    except OSError:
        return []


def workload_path(workload: str) -> Path:
    """The script of a bundled workload (may not exist)."""
    return paths.workloads_dir() / f"{workload}.py"


def build_argv(spec: RunSpec, *, script_dir: str | None = None) -> tuple[str, ...]:
    """The exact argv of a run; raises RunSpecError when the spec cannot run.

    script_dir: where the workload scripts are on the machine that runs them (a host's copy of this
    install's workloads/); None: this install's own.
    """
    if spec.cmd is not None:
        return _custom_argv(spec)
    target = spec.target
    if not target.available:
        raise RunSpecError(f"target {target.id!r} is unavailable: {target.reason}")
    if not 1 <= spec.threads <= catalog.MAX_THREADS:
        raise RunSpecError(f"--threads must be between 1 and {catalog.MAX_THREADS} (got {spec.threads})")
    if spec.size is not None and spec.size < 1:
        raise RunSpecError(f"--size must be at least 1 (got {spec.size})")
    interval = spec.switch_interval_s
    if interval is not None and not (math.isfinite(interval) and 0 < interval <= MAX_SWITCH_INTERVAL_S):
        raise RunSpecError(
            f"--switch-interval must be in (0, {MAX_SWITCH_INTERVAL_S:g}] seconds (got {interval:g})"
        )
    sized = ("--size", str(spec.size)) if spec.size is not None else ()
    unsupported = catalog.unsupported(target.kind, spec.workload, spec.executor)
    if unsupported is not None:
        raise RunSpecError(unsupported)
    if target.kind == "rust":
        # No GIL, nothing to switch: the Rust baseline runs the same with or without the knob.
        return (target.executable, spec.workload, "--threads", str(spec.threads), *sized, *spec.extra_args)
    if target.kind != "python":
        raise RunSpecError(f"target {target.id!r} runs only custom commands (--cmd)")
    script = workload_path(spec.workload)
    if not script.is_file():
        known = ", ".join(list_workloads()) or "none found"
        raise RunSpecError(f"unknown workload {spec.workload!r} (choose from: {known})")
    switch = ("--switch-interval", repr(interval)) if interval is not None else ()
    return (
        target.executable,
        "-u",
        str(script) if script_dir is None else f"{script_dir.rstrip('/')}/{script.name}",
        "--threads",
        str(spec.threads),
        *sized,
        "--executor",
        spec.executor,
        *switch,
        *spec.extra_args,
    )


def _custom_argv(spec: RunSpec) -> tuple[str, ...]:
    assert spec.cmd is not None
    if not spec.cmd:
        raise RunSpecError("the custom command is empty")
    if spec.switch_interval_s is not None:
        raise RunSpecError("--switch-interval applies to the bundled workloads, not to a custom command")
    if any("{size}" in arg for arg in spec.cmd) and spec.size is None:
        raise RunSpecError("the command uses {size} but no --size was given")
    if any("{python}" in arg for arg in spec.cmd) and spec.target.kind != "python":
        raise RunSpecError("the command uses {python} but the target is not a Python interpreter")
    values = {"{threads}": str(spec.threads), "{size}": str(spec.size), "{python}": spec.target.executable}
    out = []
    for arg in spec.cmd:
        # Plain replace, not str.format: JSON or shell-like braces in arguments must pass through.
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return (*out, *spec.extra_args)


def build_env(target: Target, base: dict[str, str] | None = None) -> dict[str, str]:
    """Allow-listed environment plus the target's own; PYTHON_GIL only when the target sets it."""
    source = os.environ if base is None else base
    env = {k: source[k] for k in ENV_ALLOW if k in source}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHON_GIL", None)  # a stray PYTHON_GIL in the user's shell must not flip a run
    env.update(dict(target.env))
    return env


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _first_line(text: str, limit: int = 160) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


class Run:
    """One run of a workload or custom command; iterate `updates()` once to drive it."""

    def __init__(
        self,
        spec: RunSpec,
        *,
        recorder: Recorder | None = None,
        sample_interval: float = 0.1,
        core_sample_interval: float | None = 0.25,
        max_line: int = 1 << 20,
        noise_check: bool = True,
        stall_after_s: float = STALL_AFTER_S,
    ) -> None:
        self.spec = spec
        self.run_id = new_run_id()
        self.result: RunResult | None = None
        """The final result once RunFinished has been produced."""
        self.pid: int | None = None
        """Process (group) id once spawned."""
        self._recorder = recorder
        self._tap = RunTap(recorder, self.run_id, self._harness_now) if recorder is not None else None
        """The one path from this run's updates to its recording (the dashboard records the same way)."""
        self._sample_interval = sample_interval
        self._core_interval = core_sample_interval
        self._max_line = max(1, max_line)
        self._noise_check = noise_check
        self._stop_reason: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        # Batches, not single updates: one queue hop per read chunk instead of one per line.
        self._queue: asyncio.Queue[_Batch] | None = None
        self._used = False
        self._consumer_gone = False
        self._tally = EventTally()
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._gil_module: str | None = None
        self._sample_sum = 0.0
        self._sample_count = 0
        self._tree: TreeSampler | None = None
        self._t0 = time.monotonic()
        self._started_at = time.time()
        self._argv: tuple[str, ...] = ()
        self._noisy = False
        self._stall = StallWatch(stall_after_s)
        self._exited_at: float | None = None
        self._machine: MachineFacts | None = None

    # --- public --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to end: SIGTERM to its group, SIGKILL 2 s later. Idempotent, safe any time."""
        if self._stop_reason is None:
            self._stop_reason = "stopped"
        loop, event = self._loop, self._stop_event
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    async def updates(self) -> AsyncIterator[RunUpdate]:
        """RunStarted, then events/samples as they happen, then RunFinished (always, even on failure)."""
        if self._used:
            raise RuntimeError("Run.updates() can be iterated only once")
        self._used = True
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self._stop_reason is not None:
            self._stop_event.set()
        queue: asyncio.Queue[_Batch] = asyncio.Queue(maxsize=_QUEUE_BATCHES)
        self._queue = queue
        task = asyncio.create_task(self._main())
        try:
            while True:
                batch = await queue.get()
                for update in batch:
                    yield update
                if type(batch) is list and isinstance(batch[-1], RunFinished):  # last, in a list of its own
                    break
        finally:
            if not task.done():
                # The consumer left early (break, cancel): stop the run and unblock the producers.
                self._consumer_gone = True
                self.stop()
                while not task.done():
                    while not queue.empty():
                        queue.get_nowait()
                    await asyncio.wait({task}, timeout=0.05)
            if not task.cancelled():
                task.exception()  # retrieved so asyncio does not log it; _main never raises anyway

    # --- driving -------------------------------------------------------------------------------

    async def _emit(self, update: RunUpdate) -> None:
        if self._consumer_gone or self._queue is None:
            return
        await self._queue.put([update])

    async def _emit_batch(self, updates: _Batch) -> None:
        """Queue updates in order, in slices of at most _BATCH_MAX; waits only while the queue is full."""
        queue = self._queue
        if self._consumer_gone or queue is None or not len(updates):
            return
        if len(updates) <= _BATCH_MAX:
            await queue.put(updates)
            return
        for start in range(0, len(updates), _BATCH_MAX):
            if self._consumer_gone:
                return
            if isinstance(updates, _ProgressLines):
                await queue.put(updates.sliced(start, start + _BATCH_MAX))
            else:
                await queue.put(updates[start : start + _BATCH_MAX])

    async def _main(self) -> None:
        try:
            result = await self._execute()
        except Exception as exc:  # never lose RunFinished, whatever broke
            result = self._result("error", f"internal error: {type(exc).__name__}: {exc}", None)
        self.result = result
        finished = RunFinished(result)
        if self._tap is not None and self._recorder is not None:
            try:
                self._tap(finished)
            except Exception as exc:  # the recording may lose its result record, never the run its end
                self._recorder.error = self._recorder.error or f"cannot record the result: {exc}"
        await self._emit(finished)

    async def _started(self, pid: int) -> None:
        self.pid = pid or None
        started = RunStarted(self.run_id, self.spec, pid, self._argv, self._noisy)
        if self._tap is not None:
            self._tap(started)
        await self._emit(started)

    def _harness_now(self) -> float:
        """Seconds since the spawn (the recording's clock)."""
        return time.monotonic() - self._t0

    async def _execute(self) -> RunResult:
        spec = self.spec
        try:
            self._argv = build_argv(spec)
        except RunSpecError as exc:
            await self._started(0)
            return self._result("error", str(exc), None)
        # The machine's facts (a few small /sys and /proc reads) are read beside the noise check, which
        # waits 0.3 s anyway: they cost the run's start nothing measurable, and precede its load.
        machine = asyncio.ensure_future(asyncio.to_thread(read_machine))
        if self._noise_check and self._stop_reason is None:
            with contextlib.suppress(Exception):
                self._noisy = await asyncio.to_thread(system_noise, 0.3) > NOISE_CORES
        with contextlib.suppress(Exception):  # read_machine never raises; a broken thread pool might
            self._machine = await machine
        if self._stop_reason is not None:
            await self._started(0)
            return self._result("stopped", "stopped before it started", None)

        with contextlib.suppress(Exception):
            await asyncio.to_thread(reap_orphans)  # what a gildash killed with -9 could not reap
        env = build_env(spec.target)
        env[RUN_MARKER] = self.run_id  # inherited by every descendant: finds those that leave the group
        env[OWNER_MARKER] = owner_value()
        self._t0 = time.monotonic()
        self._started_at = time.time()
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _ExitProtocol(_READ_CHUNK, loop),
                *self._argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # own process group: one killpg reaches every child
            )
        except (OSError, ValueError) as exc:
            await self._started(0)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return self._result("error", f"cannot run {self._argv[0]}: {reason}", None)

        pid = transport.get_pid()
        try:
            await self._started(pid)
            tree = TreeSampler(pid, t0=self._t0)
            self._tree = tree
            assert protocol.stdout is not None and protocol.stderr is not None
            readers = [
                asyncio.create_task(
                    self._pump(
                        protocol.stdout, self._max_line, self._on_stdout, transport.get_pipe_transport(1)
                    )
                ),
                asyncio.create_task(
                    self._pump(
                        protocol.stderr, STDERR_TAIL_BYTES, self._on_stderr, transport.get_pipe_transport(2)
                    )
                ),
            ]
            samplers = [asyncio.create_task(self._sample_loop(tree))]
            if self._core_interval is not None:  # None: the caller samples (and records) cores itself
                samplers.append(asyncio.create_task(self._core_loop(self._core_interval)))
            exited = protocol.exited
            try:
                assert self._stop_event is not None
                stop_task: asyncio.Future[Any] = asyncio.ensure_future(self._stop_event.wait())
                try:
                    await asyncio.wait(
                        {exited, stop_task}, timeout=spec.timeout_s, return_when="FIRST_COMPLETED"
                    )
                finally:
                    stop_task.cancel()
                if not exited.done():
                    if self._stop_reason is None:
                        self._stop_reason = "timeout"
                    await self._terminate(pid, tree, exited)
            finally:
                await self._reap(pid, tree, exited, readers, samplers)
        finally:
            transport.close()  # closes the pipes whoever else holds them; the process is gone by now
        if exited.done() and not exited.cancelled():
            self._exited_at = exited.result()  # harness wall ends at the exit, not after the reaping
        return self._result(None, "", transport.get_returncode())

    async def _terminate(self, pid: int, tree: TreeSampler, wait_task: asyncio.Future[Any]) -> None:
        # Snapshot the tree first: once the leader dies its children are re-parented and unfindable.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(tree.tree)
        _killpg(pid, signal.SIGTERM)
        _killpg(pid, signal.SIGCONT)  # a stopped (SIGSTOP) process acts on SIGTERM only once continued
        try:
            await asyncio.wait_for(asyncio.shield(wait_task), KILL_GRACE_S)
        except TimeoutError:
            _killpg(pid, signal.SIGKILL)

    async def _reap(
        self,
        pid: int,
        tree: TreeSampler,
        exited: asyncio.Future[Any],
        readers: list[asyncio.Task[None]],
        samplers: list[asyncio.Task[None]],
    ) -> None:
        # Whatever happened: the whole group, every descendant ever seen and every process carrying the
        # run's marker (escaped the group: new session, double fork) die with the run.
        if not exited.done() or not _pid_in_use(pid):
            _killpg(pid, signal.SIGKILL)
        kill_processes(tree.known_processes())
        with contextlib.suppress(Exception):
            await asyncio.to_thread(kill_marked, self.run_id)
        with contextlib.suppress(Exception):
            await asyncio.shield(exited)
        for task in samplers:
            task.cancel()
        # Readers end at EOF; a process we never found could hold a pipe, so drain only briefly.
        done, pending = await asyncio.wait(readers, timeout=DRAIN_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*samplers, *readers, return_exceptions=True)

    async def _pump(
        self,
        stream: asyncio.StreamReader,
        max_line: int,
        handle: Callable[[list[bytes], set[int]], Awaitable[None]],
        pipe: asyncio.BaseTransport | None = None,
    ) -> None:
        """Split a stream into lines of at most max_line bytes; the rest of an over-long line is dropped.

        Each read's complete lines go to `handle` in one call, in order, with the indexes of those cut.
        With the stream's pipe transport and a slow writer, each read is followed by READ_GATHER_S with
        the pipe unwatched: the lines written meanwhile wait in the pipe and arrive in one read.
        """
        gate = _ReadGate()
        buf = bytearray()  # the unfinished line carried over from earlier reads (at most max_line bytes)
        discarding = False  # the current line was already handed on truncated: drop it up to its newline
        while True:
            chunk = await stream.read(_READ_CHUNK)
            if not chunk:
                break
            lines = chunk.split(b"\n")
            tail = lines.pop()  # after the last newline: an unfinished line (b"" when a newline ended it)
            cut: set[int] = set()
            if lines:
                if discarding:
                    discarding = False
                    del lines[0]  # the end of a line already handed on truncated
                elif buf:
                    buf += lines[0]
                    lines[0] = bytes(buf)
                    buf.clear()
                if lines and max(map(len, lines)) > max_line:  # rare: look line by line only then
                    cut = {i for i, line in enumerate(lines) if len(line) > max_line}
                    lines = [line[:max_line] for line in lines]
            if not discarding:
                buf += tail
                if len(buf) > max_line:
                    cut.add(len(lines))
                    lines.append(bytes(buf[:max_line]))
                    buf.clear()
                    discarding = True
            if lines:
                await handle(lines, cut)
            if gate.read(len(chunk)) and isinstance(pipe, asyncio.ReadTransport) and not pipe.is_closing():
                pipe.pause_reading()  # else the loop reads each line as it comes, into the stream's buffer
                try:
                    await asyncio.sleep(READ_GATHER_S)
                finally:
                    if not pipe.is_closing():
                        pipe.resume_reading()
        if buf and not discarding:
            await handle([bytes(buf)], set())

    async def _on_stdout(self, lines: list[bytes], cut: set[int]) -> None:
        # One timestamp per read: the lines of one chunk reached us at the same moment.
        t = time.monotonic() - self._t0
        tally = self._tally
        block = b"\n".join(lines) if not cut else b""
        columns = parse_progress_columns(block) if block else None
        if columns is not None:
            # A flood's read: every line a well-formed progress line (EventTally.add's first branch). One
            # decode for the read: it is ASCII, the same text as line by line.
            progress = _ProgressLines(t, columns, block.decode("ascii").split("\n"))
            tally.last_progress.update(progress.last_per_worker())
            resumed = self._stall.output(t)
            if self._tap is not None:
                self._tap.stdout_lines(t, progress.raws)  # one write and one flush per read, as below
            # The updates are built as the consumer takes them, not all at once here.
            await self._emit_batch(progress)
            if resumed is not None:
                await self._emit(resumed)
            return
        updates: list[RunUpdate] = []
        for i, data in enumerate(lines):
            text = data.decode("utf-8", "replace")
            if not text.strip():
                continue  # a blank line is no event
            event = parse_line(text, truncated=i in cut)
            tally.add(event)
            updates.append(new_event_received(t, event, text))
        if updates:
            resumed = self._stall.output(t)
            if resumed is not None:
                updates.append(resumed)
        if self._tap is not None and updates:
            # One write and one flush per read: kill -9 loses at most the lines of the chunk in flight.
            self._tap.batch(updates)
        await self._emit_batch(updates)

    async def _on_stderr(self, lines: list[bytes], _cut: set[int]) -> None:
        t = time.monotonic() - self._t0
        updates: list[RunUpdate] = []
        for data in lines:
            line = data.decode("utf-8", errors="replace").rstrip("\r")
            module = gil_reenabled_module(line)
            if module is not None and self._gil_module is None:
                self._gil_module = module
            self._stderr_tail.append(line)
            updates.append(StderrReceived(t, line))
        if self._tap is not None:
            self._tap.batch(updates)
        await self._emit_batch(updates)

    async def _sample_loop(self, tree: TreeSampler) -> None:
        while True:
            await asyncio.sleep(self._sample_interval)
            try:
                sample = await asyncio.to_thread(tree.sample)
            except Exception:  # psutil oddities must not end the run
                continue
            if sample is None:
                return
            await self._take_sample(sample)

    async def _take_sample(self, sample: ProcSample) -> None:
        """One sample of the run's processes: counted for the result, recorded, emitted, stall-watched."""
        self._sample_sum += sample.effective_cores
        self._sample_count += 1
        if self._tap is not None:
            self._tap(sample)
        await self._emit(sample)
        change = self._stall.sample(sample.t, sample.effective_cores)
        if change is not None:
            await self._emit(change)

    async def _take_cores(self, sample: CoreSample) -> None:
        """One per-core sample: recorded and emitted."""
        if self._tap is not None:
            self._tap(sample)
        await self._emit(sample)

    async def _core_loop(self, interval: float) -> None:
        sampler = CoreSampler()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(sampler.sample)  # primes the counters; its zeros are not data
        while True:
            await asyncio.sleep(interval)
            try:
                sample = await asyncio.to_thread(sampler.sample)
            except Exception:
                continue
            await self._take_cores(sample)

    # --- result --------------------------------------------------------------------------------

    def _stderr_text(self) -> str:
        text = "\n".join(self._stderr_tail)
        return text[-STDERR_TAIL_BYTES:]

    def _result(self, status: RunStatus | None, message: str, returncode: int | None) -> RunResult:
        spec, tally = self.spec, self._tally
        if status is None:
            status, message = self._decide(returncode)
        elif status in ("error", "stopped"):
            message = message or status
        exit_code = returncode if returncode is not None and returncode >= 0 else None
        sig = -returncode if returncode is not None and returncode < 0 else None
        tree = self._tree
        result = tally.result(
            spec,
            run_id=self.run_id,
            status=status,
            message=message,
            harness_wall_s=max(0.0, (self._exited_at or time.monotonic()) - self._t0),
            noisy=self._noisy,
            gil_module=self._gil_module,
            stderr_tail=self._stderr_text(),
            started_at=self._started_at,
            sampled_cores=self._sample_sum / self._sample_count if self._sample_count else None,
            sampled_cpu=(tree.cpu_user_s, tree.cpu_sys_s) if tree else (None, None),
            exit_code=exit_code,
            signal=sig,
            recording=str(self._recorder.path) if self._recorder is not None else None,
        )
        stalled_s = self._stall.longest_s
        if stalled_s and result.status in ("timeout", "stopped", "crashed", "failed"):
            message = f"{result.message}; stalled: no output and no CPU for {stalled_s:.1f} s"
        else:
            message = result.message
        # Whatever the workload reported must be safe to show, copy and serialise (no nesting a thousand
        # deep, no Infinity): bounded here once, for every consumer.
        return dataclasses.replace(
            result,
            result_value=plain(result.result_value),
            metrics=plain(result.metrics),
            stalled_s=stalled_s,
            message=message,
            machine=self._machine,
        )

    def _decide(self, returncode: int | None) -> tuple[RunStatus, str]:
        tally, spec = self._tally, self.spec
        summary, error = tally.summary, tally.error
        detail = ""
        if error is not None:
            detail = _first_line(error.message) or "error"
        elif self._stderr_tail:
            detail = _first_line(self._stderr_tail[-1])
        suffix = f": {detail}" if detail else ""
        if self._stop_reason == "timeout":
            return "timeout", f"timed out after {spec.timeout_s:g} s"
        if self._stop_reason == "stopped":
            return "stopped", "stopped"
        if returncode is not None and returncode < 0:
            return "crashed", f"killed by {_signal_name(-returncode)}{suffix}"
        if error is not None:
            return "crashed", f"error (exit code {returncode}){suffix}"
        if returncode:
            return "crashed", f"exit code {returncode}{suffix}"
        if summary is None:
            bad = f" ({tally.malformed} unparseable lines)" if tally.malformed else ""
            return "failed", f"exited without a summary line{bad}"
        if summary.aborted:
            return "crashed", "the workload aborted before finishing"
        if not summary.ok:
            return "failed", f"result check failed (got {_short(summary.result)})"
        cores = tally.effective_cores()
        cores_text = f", {cores:.2f} cores" if cores is not None else ""
        ran = tally.ran_threads(spec.threads)
        return "ok", f"{ran} thread{'s' if ran != 1 else ''} in {summary.wall_s:.3f} s{cores_text}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, sig)


def _pid_in_use(pid: int) -> bool:
    """Does some process own this pid (after our child was reaped: a reuse, so killpg must not run)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def execute(spec: RunSpec, **kwargs: Any) -> RunResult:
    """Run to completion, draining every update; returns the RunResult."""
    run = Run(spec, **kwargs)
    result: RunResult | None = None
    async for update in run.updates():
        if isinstance(update, RunFinished):
            result = update.result
    assert result is not None
    return result
