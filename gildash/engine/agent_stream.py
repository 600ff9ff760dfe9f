"""Host agent records -> the engine's own frozen values (gildash/hostagent.py; docs/protocol.md).

Owns the local side of the agent's JSON lines: `AgentStream.parse()` turns one line into a hello (with the
host's MachineFacts), a CoreSample, a ProcSample with the host's cores, the started pid, a stderr line,
the exit or an error, and maps the host's monotonic clock onto ours. It is total: a malformed line, a
non-finite number, a value of the wrong type or range, nesting too deep or an unknown kind is rejected on
its own (counted, with the last reason) and never raises. Never imports textual; no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gildash.engine.machine import MachineFacts, machine_from_dict
from gildash.engine.model import CoreSample, ProcSample
from gildash.engine.safejson import finite_floats_only
from gildash.engine.typed import TypedError, build

AGENT_SOURCE = Path(__file__).resolve().parent.parent / "hostagent.py"
"""The agent's one file, copied to a host as it is (it ships inside the gildash package)."""
STOP_LINE = b"stop\n"
"""Written to the agent's stdin: stop the run (SIGTERM to its group, SIGKILL 2 s later)."""
MAX_LINE_CHARS = 4 << 20
"""Longer lines are garbage (a 1024-CPU host's hello is well under 1 MB)."""
MAX_CPUS = 16_384
"""More per-core values than this in one record are garbage."""
MAX_THREADS = 64
"""More thread entries than this in one proc record are garbage (the agent sends at most 16)."""
MAX_CORES_BUSY = 1e6
"""An effective-cores figure above this is garbage."""
STDERR_LINE_CHARS = 4096
"""A stderr line longer than the agent's own cut is cut again here."""
StoppedBy = Literal["stop", "timeout", "hangup"]


@dataclass(frozen=True)
class AgentHello:
    """The agent's first record: who it is and the host's facts."""

    version: int
    """The agent's record version (1)."""
    cpu_count: int
    """Logical CPUs of the host."""
    python: str
    """The host python3 running the agent, e.g. '3.11.2'."""
    machine: MachineFacts | None
    """The host's machine facts; None when the record's facts were not an object."""


@dataclass(frozen=True)
class AgentStarted:
    """The workload was spawned on the host."""

    pid: int
    """Its process id on the host."""
    t: float
    """Local monotonic seconds (the host's clock mapped onto ours)."""


@dataclass(frozen=True)
class AgentProc:
    """One sample of the workload's tree on the host, with the host's per-core load over the same interval."""

    sample: ProcSample
    """The tree sample; its t is seconds since the workload started (host clock, as the harness's)."""
    cores: CoreSample
    """The host's per-core load; its t is local monotonic seconds."""


@dataclass(frozen=True)
class AgentStderr:
    """One line the workload wrote to its stderr."""

    line: str
    """The line, without its newline (at most STDERR_LINE_CHARS)."""


@dataclass(frozen=True)
class AgentExit:
    """The workload's main process exited and its tree was reaped; the agent ends next."""

    returncode: int
    """Its exit status (negative: killed by that signal)."""
    t: float
    """Local monotonic seconds."""
    stopped_by: StoppedBy | None = None
    """What ended it early: stop, timeout, hangup; None when it exited by itself."""


@dataclass(frozen=True)
class AgentFailed:
    """The agent could not do what it was asked (bad arguments, a workload that cannot start)."""

    message: str
    """One line saying why."""


AgentRecord = AgentHello | AgentStarted | CoreSample | AgentProc | AgentStderr | AgentExit | AgentFailed


def watch_command(python: str, agent: str, interval_s: float = 0.25) -> tuple[str, ...]:
    """The argv that starts the agent's watch mode on a host (join it with shlex.join for ssh)."""
    return (python, agent, "watch", "--interval", repr(float(interval_s)))


def run_command(
    python: str,
    agent: str,
    argv: Sequence[str],
    *,
    interval_s: float = 0.25,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> tuple[str, ...]:
    """The argv that makes the agent run `argv` on a host (the workload inherits the agent's environment
    plus `env`); keep the agent's stdin open for the whole run: its EOF kills the run."""
    out = [python, agent, "run", "--interval", repr(float(interval_s))]
    if cwd is not None:
        out += ["--cwd", cwd]
    for key, value in (env or {}).items():
        out += ["--env", f"{key}={value}"]
    if timeout_s is not None:
        out += ["--timeout", repr(float(timeout_s))]
    return (*out, "--", *argv)


# engine.typed.build checks each record field by field against its hints: against the record's own class
# where the wire carries exactly its fields (times are mapped onto our clock after), else a wire shape.


@dataclass(frozen=True)
class _HelloWire:
    version: int
    cpu_count: int
    python: str
    machine: Any = None


@dataclass(frozen=True)
class _ProcWire:
    t: float
    effective_cores: float
    rss: int
    processes: int
    threads: tuple[tuple[int, float], ...]
    cores: tuple[float, ...]


class _Reject(Exception):
    """Internal: the record is not valid; the message becomes AgentStream.last_reason."""


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def _percentages(values: tuple[float, ...], where: str) -> tuple[float, ...]:
    if len(values) > MAX_CPUS:
        raise _Reject(f"{where}: more than {MAX_CPUS} CPUs")
    if any(not 0.0 <= p <= 100.0 for p in values):
        raise _Reject(f"{where}: a percentage outside 0..100")
    return values


class AgentStream:
    """Parses one agent's lines, in order: keeps the clock mapping and the run's start, counts rejects.

    clock: the local monotonic clock (injectable for tests). The first timed record fixes the offset
    between the host's clock and ours; every later time is mapped with it (only differences matter).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._offset: float | None = None
        self._started_host_t: float | None = None
        self.rejected = 0
        """Lines rejected so far."""
        self.last_reason = ""
        """Why the last rejected line was rejected, one line ('' while none was)."""
        self.hello: AgentHello | None = None
        """The hello record, once seen."""

    def parse(self, line: bytes | str) -> AgentRecord | None:
        """The record on one line; None when the line is rejected (counted). Never raises."""
        try:
            return self._parse(line)
        except (_Reject, TypedError) as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - deep nesting, odd str subclasses: the contract is total
            reason = f"unparseable record ({type(exc).__name__})"
        self.rejected += 1
        self.last_reason = _one_line(reason)
        return None

    def _local(self, host_t: float) -> float:
        if self._offset is None:
            self._offset = self._clock() - host_t
        return host_t + self._offset

    def _parse(self, line: bytes | str) -> AgentRecord:
        if len(line) > MAX_LINE_CHARS:
            raise _Reject("line too long")
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes | bytearray) else str(line)
        try:
            obj = finite_floats_only(text)
        except ValueError as exc:  # JSONDecodeError too
            raise _Reject(f"not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise _Reject("not a JSON object")
        kind = obj.get("agent")
        if kind == "proc":
            return self._proc(build(_ProcWire, obj, "proc"))
        if kind == "cores":
            cores = build(CoreSample, obj, "cores")
            percent = _percentages(cores.percent, "cores.percent")
            return CoreSample(t=self._local(cores.t), percent=percent)  # watch mode: the host's per-core load
        if kind == "stderr":
            return AgentStderr(build(AgentStderr, obj, "stderr").line[:STDERR_LINE_CHARS])
        if kind == "hello":
            hello = build(_HelloWire, obj, "hello")
            if hello.cpu_count < 1 or hello.version < 1:
                raise _Reject("hello: cpu_count and version must be positive")
            self.hello = AgentHello(
                hello.version, hello.cpu_count, hello.python, machine_from_dict(hello.machine)
            )
            return self.hello
        if kind == "started":
            started = build(AgentStarted, obj, "started")
            if started.pid < 1:
                raise _Reject("started.pid: not a process id")
            self._started_host_t = started.t
            return AgentStarted(pid=started.pid, t=self._local(started.t))
        if kind == "exit":
            done = build(AgentExit, obj, "exit")
            return AgentExit(returncode=done.returncode, t=self._local(done.t), stopped_by=done.stopped_by)
        if kind == "error":
            return AgentFailed(_one_line(build(AgentFailed, obj, "error").message, 300))
        raise _Reject(f"unknown record kind {_one_line(repr(kind), 40)}")

    def _proc(self, wire: _ProcWire) -> AgentProc:
        if not 0.0 <= wire.effective_cores <= MAX_CORES_BUSY:
            raise _Reject("proc.effective_cores: out of range")
        if wire.rss < 0 or wire.processes < 0:
            raise _Reject("proc: negative rss or process count")
        if len(wire.threads) > MAX_THREADS:
            raise _Reject(f"proc.threads: more than {MAX_THREADS}")
        if any(not 0.0 <= util <= 1.0 for _, util in wire.threads):
            raise _Reject("proc.threads: a utilisation outside 0..1")
        percent = _percentages(wire.cores, "proc.cores")
        if self._started_host_t is None:
            self._started_host_t = wire.t  # no started record seen: count from the first sample
        sample = ProcSample(
            t=max(0.0, wire.t - self._started_host_t),
            effective_cores=wire.effective_cores,
            thread_util=tuple(util for _, util in wire.threads),
            thread_ids=tuple(tid for tid, _ in wire.threads),
            rss_bytes=wire.rss,
            processes=wire.processes,
        )
        return AgentProc(sample=sample, cores=CoreSample(t=self._local(wire.t), percent=percent))
