"""RemoteRun against the loopback sshd: the same updates as a local Run, stop, and a lost connection."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from dataclasses import replace

import psutil
import pytest
from remote_support import LoopbackSsh

from gildash.engine.model import (
    CoreSample,
    EventReceived,
    ProcSample,
    RunFinished,
    RunSpec,
    RunStarted,
    RunUpdate,
    Target,
)
from gildash.engine.remote.host import RemoteHost
from gildash.engine.remote.run import RemoteRun

pytestmark = pytest.mark.slow


@pytest.fixture
def session(ssh_env: LoopbackSsh) -> Iterator[RemoteHost]:
    """An open session on the loopback host."""
    with RemoteHost(ssh_env.alias) as host:
        yield host


def _ft(session: RemoteHost) -> Target:
    return next(t for t in session.targets(include_rust=False) if t.gil_mode == "free-threaded")


async def _drain(run: RemoteRun) -> list[RunUpdate]:
    return [update async for update in run.updates()]


async def test_updates_are_those_of_a_local_run(session: RemoteHost, ft_python: str) -> None:
    spec = RunSpec(target=_ft(session), workload="sum_squares", threads=2, size=3_000_000)
    updates = await _drain(RemoteRun(spec, session, sample_interval=0.1))
    assert isinstance(updates[0], RunStarted) and updates[0].pid > 0
    assert isinstance(updates[-1], RunFinished)
    result = updates[-1].result
    assert result.status == "ok", result.message
    assert result.target.host == session.host
    assert any(isinstance(u, EventReceived) for u in updates)
    assert any(isinstance(u, ProcSample) for u in updates)
    cores = [u for u in updates if isinstance(u, CoreSample)]
    assert cores and len(cores[0].percent) == os.cpu_count()
    assert result.machine is not None and result.machine.logical_cores == os.cpu_count()


async def test_stop_ends_the_run_as_stopped(session: RemoteHost, ft_python: str) -> None:
    spec = RunSpec(target=_ft(session), workload="sum_squares", threads=2, size=2_000_000_000)
    run = RemoteRun(spec, session)
    result = None
    async for update in run.updates():
        if isinstance(update, ProcSample):
            run.stop()
        if isinstance(update, RunFinished):
            result = update.result
    assert result is not None
    assert result.status == "stopped"


async def test_a_lost_connection_ends_the_run_with_one_line(session: RemoteHost, ft_python: str) -> None:
    spec = RunSpec(target=_ft(session), workload="sum_squares", threads=2, size=2_000_000_000)
    run = RemoteRun(spec, session)
    master = session.link._master  # the one connection every command rides on
    assert master is not None
    workload: int | None = None
    result = None
    async for update in run.updates():
        if isinstance(update, RunStarted):
            workload = update.pid
        if isinstance(update, ProcSample) and master.poll() is None:
            os.killpg(master.pid, signal.SIGKILL)
        if isinstance(update, RunFinished):
            result = update.result
    assert result is not None
    assert result.status == "error"
    assert result.message == f"lost the connection to {session.host}"
    assert workload is not None
    # The agent saw EOF and took the workload down with it (the host is this machine).
    deadline = asyncio.get_running_loop().time() + 5
    while psutil.pid_exists(workload) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert not psutil.pid_exists(workload) or psutil.Process(workload).status() == psutil.STATUS_ZOMBIE


async def test_a_spec_that_cannot_run_is_an_error_not_a_connection(session: RemoteHost) -> None:
    target = replace(_ft(session), available=False, reason="gone")
    updates = await _drain(RemoteRun(RunSpec(target=target, workload="sum_squares"), session))
    assert isinstance(updates[0], RunStarted) and isinstance(updates[-1], RunFinished)
    assert updates[-1].result.status == "error"
    assert "unavailable" in updates[-1].result.message


async def test_a_run_on_a_closed_session_is_one_error(ssh_env: LoopbackSsh, ft_python: str) -> None:
    with RemoteHost(ssh_env.alias) as host:
        target = _ft(host)
    updates = await _drain(RemoteRun(RunSpec(target=target, workload="sum_squares"), host))
    assert isinstance(updates[0], RunStarted) and isinstance(updates[-1], RunFinished)
    assert updates[-1].result.status == "error"
    assert updates[-1].result.message == f"the session on {ssh_env.alias} is not open"


async def test_after_the_connection_is_lost_nothing_opens_a_second_one(
    ssh_env: LoopbackSsh, ft_python: str
) -> None:
    with RemoteHost(ssh_env.alias) as host:
        target = _ft(host)
        master = host.link._master
        assert master is not None
        os.killpg(master.pid, signal.SIGKILL)
        master.wait()
        updates = await _drain(RemoteRun(RunSpec(target=target, workload="sum_squares"), host))
    assert updates[-1].result.status == "error"
    assert updates[-1].result.message == f"lost the connection to {ssh_env.alias}"
