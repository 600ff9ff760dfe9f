"""One run on a host: the bundled agent runs the workload there and streams it back over the session's link.

`RemoteRun` is a `Run` (same interface, same updates, same result): the agent's stdout is the workload's
own protocol stream, parsed exactly like a local run's; the agent's stderr carries its records (started,
process/thread and per-core samples, the workload's stderr, exit), read with engine.agent_stream.
Stop sends `stop` to the agent; a lost connection ends the run with status error and says so; if gildash
dies, ssh closes the agent's stdin and the agent kills the workload's whole tree. Never imports textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gildash.engine.agent_stream import (
    STOP_LINE,
    AgentExit,
    AgentFailed,
    AgentHello,
    AgentProc,
    AgentStarted,
    AgentStderr,
    AgentStream,
    run_command,
)
from gildash.engine.model import RunResult, RunSpec
from gildash.engine.remote.host import RemoteHost
from gildash.engine.remote.ssh import RemoteError
from gildash.engine.runner import (
    _READ_CHUNK,
    KILL_GRACE_S,
    Run,
    RunSpecError,
    build_argv,
)

if TYPE_CHECKING:
    pass

STARTED_TIMEOUT_S = 30.0
"""The longest the agent may take to start the workload (ssh channel, python3 start-up, fork)."""
AGENT_LINE_MAX = 1 << 20
"""Longest agent record read; longer ones are cut (and then rejected by the parser)."""
EXIT_GRACE_S = KILL_GRACE_S + 5.0
"""After `stop`, how long the agent may take (SIGTERM, SIGKILL 2 s later, reaping) before ssh is cut."""
DRAIN_S = 2.0
"""After the agent's exit record, how long its stdout may still deliver the workload's last lines."""


def remote_env(spec: RunSpec) -> dict[str, str]:
    """What the agent adds to the workload's environment: unbuffered output and the target's own (e.g.
    PYTHON_GIL=1)."""
    return {"PYTHONUNBUFFERED": "1", **dict(spec.target.env)}


class RemoteRun(Run):
    """A Run whose workload runs on `host` (an open RemoteHost); iterate `updates()` once to drive it."""

    def __init__(self, spec: RunSpec, host: RemoteHost, **options: Any) -> None:
        """`options`: Run's keyword options (recorder, sample_interval, core_sample_interval, ...)."""
        # No idle check: it reads this machine's load, which says nothing of the host's.
        super().__init__(spec, **{**options, "noise_check": False})
        self._host = host
        self._agent_stdin: asyncio.StreamWriter | None = None
        self._agent_started: asyncio.Future[int] | None = None
        self._agent_exit: asyncio.Future[int] | None = None
        self._agent_error: str | None = None
        self._ssh_tail: list[str] = []
        self._stream = AgentStream()

    # --- driving -------------------------------------------------------------------------------

    async def _execute(self) -> RunResult:
        spec, host = self.spec, self._host
        bundle = host.bundle
        if bundle is None:
            await self._started(0)
            return self._result("error", f"the session on {host.host} is not open", None)
        try:
            self._argv = build_argv(spec, script_dir=bundle.workloads)
        except RunSpecError as exc:
            await self._started(0)
            return self._result("error", str(exc), None)
        self._machine = host.machine
        if self._stop_reason is not None:
            await self._started(0)
            return self._result("stopped", "stopped before it started", None)
        agent = run_command(
            "python3",
            bundle.agent,
            self._argv,
            interval_s=max(0.05, self._sample_interval),
            cwd=bundle.root,
            env=remote_env(spec),
        )
        # A stray PYTHON_GIL in the host's login environment must not flip a run (as build_env drops it).
        command = ["env", "-u", "PYTHON_GIL", *agent]
        loop = asyncio.get_running_loop()
        self._agent_started = loop.create_future()
        self._agent_exit = loop.create_future()
        self._t0 = time.monotonic()
        self._started_at = time.time()
        try:
            ssh_argv = host.link.argv(command)
        except RemoteError as exc:
            await self._started(0)
            return self._result("error", str(exc), None)
        try:
            proc = await asyncio.create_subprocess_exec(
                *ssh_argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=_READ_CHUNK,
                start_new_session=True,  # Ctrl-C is ours to turn into `stop`, not ssh's to die of
            )
        except OSError as exc:
            await self._started(0)
            return self._result("error", f"cannot run ssh: {exc.strerror or exc}", None)
        self._agent_stdin = proc.stdin
        assert proc.stdout is not None and proc.stderr is not None
        records = asyncio.create_task(self._pump(proc.stderr, AGENT_LINE_MAX, self._on_agent))
        ssh_done = asyncio.ensure_future(proc.wait())
        try:
            return await self._supervise(proc, records, ssh_done)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)  # ssh gone: the agent sees EOF and kills the tree
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(ssh_done), 5)
            records.cancel()
            await asyncio.gather(records, return_exceptions=True)

    async def _supervise(
        self, proc: asyncio.subprocess.Process, records: asyncio.Task[None], ssh_done: asyncio.Future[int]
    ) -> RunResult:
        assert self._agent_started is not None and self._agent_exit is not None
        assert self._stop_event is not None and proc.stdout is not None
        started, exit_rec = self._agent_started, self._agent_exit
        # The workload's stdout waits in its pipe until RunStarted is out: RunStarted always comes first.
        await asyncio.wait({started, ssh_done}, timeout=STARTED_TIMEOUT_S, return_when="FIRST_COMPLETED")
        if ssh_done.done() and not started.done():
            await asyncio.wait({records}, timeout=DRAIN_S)  # ssh ended first: read what the agent said
        if not started.done():
            await self._started(0)
            return self._result("error", await self._failure(ssh_done), None)
        await self._started(started.result())
        stdout = asyncio.create_task(self._pump(proc.stdout, self._max_line, self._on_stdout))
        stop_task: asyncio.Future[Any] = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait(
                {exit_rec, ssh_done, stop_task}, timeout=self.spec.timeout_s, return_when="FIRST_COMPLETED"
            )
            if not exit_rec.done() and not ssh_done.done():
                if self._stop_reason is None:
                    self._stop_reason = "timeout"
                self._send_stop()
                await asyncio.wait({exit_rec, ssh_done}, timeout=EXIT_GRACE_S, return_when="FIRST_COMPLETED")
        finally:
            stop_task.cancel()
        if ssh_done.done() and not exit_rec.done():
            # ssh may end a moment before its last stderr lines (the exit record) are read.
            await asyncio.wait({records}, timeout=DRAIN_S)
        if exit_rec.done():
            # The agent exits right after its exit record; its stdout ends with it.
            await asyncio.wait({stdout}, timeout=DRAIN_S)
        else:
            stdout.cancel()
        await asyncio.gather(stdout, return_exceptions=True)
        if not exit_rec.done():
            return self._result("error", await self._failure(ssh_done), None)
        return self._result(None, "", exit_rec.result())

    def _send_stop(self) -> None:
        writer = self._agent_stdin
        if writer is None:
            return
        with contextlib.suppress(OSError, RuntimeError):
            writer.write(STOP_LINE)

    async def _failure(self, ssh_done: asyncio.Future[int]) -> str:
        """Why the agent ended without an exit record, in one line."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(ssh_done), 2)
        if self._agent_error:
            return f"{self._host.host}: {self._agent_error}"
        code = ssh_done.result() if ssh_done.done() and not ssh_done.cancelled() else None
        if code == 255 or not self._host.link.alive:
            return str(self._host.link.failure("\n".join(self._ssh_tail), code))
        if code is None:
            return f"{self._host.host}: the host agent did not start within {STARTED_TIMEOUT_S:g} s"
        tail = self._ssh_tail[-1] if self._ssh_tail else f"exit code {code}"
        return f"{self._host.host}: the host agent ended without reporting the run's end ({tail[:160]})"

    # --- the agent's records ----------------------------------------------------------------------

    async def _on_agent(self, lines: list[bytes], _cut: set[int]) -> None:
        stream = self._stream
        stderr_lines: list[bytes] = []
        for data in lines:
            record = stream.parse(data)
            if record is None:
                # Not a record: ssh's own words (connection closed, errors) end up here.
                text = data.decode("utf-8", "replace").strip()
                if text and not text.startswith("{"):
                    self._ssh_tail = [*self._ssh_tail[-9:], text]
                continue
            if isinstance(record, AgentStderr):
                stderr_lines.append(record.line.encode("utf-8"))
                continue
            if stderr_lines:  # in order: the workload's stderr before what the agent said after it
                await self._on_stderr(stderr_lines, set())
                stderr_lines = []
            if isinstance(record, AgentProc):
                await self._on_proc(record)
            elif isinstance(record, AgentStarted):
                if self._agent_started is not None and not self._agent_started.done():
                    self._agent_started.set_result(record.pid)
            elif isinstance(record, AgentExit):
                self._exited_at = time.monotonic()
                if self._agent_exit is not None and not self._agent_exit.done():
                    self._agent_exit.set_result(record.returncode)
            elif isinstance(record, AgentHello):
                if record.machine is not None:
                    self._machine = record.machine  # the host's facts as the run starts (its load now)
            elif isinstance(record, AgentFailed):
                self._agent_error = record.message
        if stderr_lines:
            await self._on_stderr(stderr_lines, set())

    async def _on_proc(self, record: AgentProc) -> None:
        # The local harness clock, like the workload's lines: the stall watch compares the two.
        await self._take_sample(replace(record.sample, t=time.monotonic() - self._t0))
        if self._core_interval is not None:  # None: the caller shows the host's cores from its own watch
            await self._take_cores(record.cores)
