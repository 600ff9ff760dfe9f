"""Finding and killing the processes of a run that escaped its process group (Linux).

Every run's environment carries RUN_MARKER=<run id>; a descendant that left the group (new session, double
fork, re-parented to init) still inherits it, so a /proc scan of environments finds it after the fact.
Only a process that clears or rewrites its environment escapes this. Elsewhere (no /proc) nothing is
found. Calls block briefly: run them in a thread from async code. Never imports textual.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

RUN_MARKER = "GILDASH_RUN_ID"
"""Environment variable set to the run id in every run's environment."""
PROC = Path("/proc")
_MAX_ENVIRON = 1 << 20  # bytes of /proc/PID/environ read at most


def _carries(pid: int, needle: bytes) -> bool:
    try:
        with open(PROC / str(pid) / "environ", "rb") as fh:
            data = fh.read(_MAX_ENVIRON)
    except OSError:  # gone, or another user's process
        return False
    return needle in b"\0" + data


def marked_pids(run_id: str) -> list[int]:
    """Pids of live processes (other than ours) whose environment has RUN_MARKER=run_id."""
    needle = f"\0{RUN_MARKER}={run_id}\0".encode()
    try:
        names = os.listdir(PROC)
    except OSError:
        return []
    me = os.getpid()
    return [int(n) for n in names if n.isdigit() and int(n) != me and _carries(int(n), needle)]


def kill_marked(run_id: str, *, rounds: int = 3) -> list[int]:
    """SIGKILL every process carrying the run's marker, rescanning until none is found (a process may fork
    while we kill); returns the pids killed. A pidfd pins each process, so a reused pid is never hit."""
    needle = f"\0{RUN_MARKER}={run_id}\0".encode()
    killed: dict[int, None] = {}  # ordered, unique: a dying process may be found again by the rescan
    for _ in range(rounds):
        found = marked_pids(run_id)
        if not found:
            break
        for pid in found:
            _kill_pinned(pid, needle)
            killed[pid] = None
    return list(killed)


def _kill_pinned(pid: int, needle: bytes) -> None:
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open is None or send is None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        return
    try:
        fd = pidfd_open(pid)
    except OSError:
        return
    try:
        if _carries(pid, needle):  # still the same process: the pidfd now pins it
            with contextlib.suppress(OSError):
                send(fd, signal.SIGKILL)
    finally:
        os.close(fd)
