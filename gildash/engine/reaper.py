"""Finding and killing the processes of a run that escaped its process group (Linux).

Every run's environment carries RUN_MARKER=<run id> and OWNER_MARKER=<pid>:<start time> of the gildash
process that started it; a descendant that left the group (new session, double fork, re-parented to init)
still inherits them, so a /proc scan of environments finds it after the fact: at the end of its run
(kill_marked), or, when gildash itself was killed (kill -9) and could not reap, when the next run starts
(reap_orphans: the owner is gone). That also catches a workload stopped with SIGSTOP, whose own parent
watchdog cannot run. Only a process that clears or rewrites its environment escapes this. Elsewhere (no
/proc) nothing is found. Calls block briefly: run them in a thread from async code. Never imports textual.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

RUN_MARKER = "GILDASH_RUN_ID"
"""Environment variable set to the run id in every run's environment."""
OWNER_MARKER = "GILDASH_OWNER"
"""Environment variable set to '<pid>:<start time>' of the gildash process that started the run."""
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


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks): with the pid, names one process ever."""
    try:
        with open(PROC / str(pid) / "stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def owner_value(pid: int | None = None) -> str:
    """OWNER_MARKER's value for this process (or pid): '<pid>:<start time>'."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid) or '?'}"


def _owner_alive(value: str) -> bool:
    pid_text, _, start = value.partition(":")
    if not pid_text.isdigit() or not start.isdigit():
        return True  # not ours to judge (or the owner's start time was unknown): leave it alone
    return _start_time(int(pid_text)) == start


def _environ(pid: int) -> dict[bytes, bytes]:
    try:
        with open(PROC / str(pid) / "environ", "rb") as fh:
            data = fh.read(_MAX_ENVIRON)
    except OSError:
        return {}
    out: dict[bytes, bytes] = {}
    for item in data.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key] = value
    return out


def reap_orphans() -> list[int]:
    """SIGKILL the processes of runs whose gildash is gone (killed before it could reap them); returns
    their pids. A run of a gildash still running is never touched."""
    try:
        names = os.listdir(PROC)
    except OSError:
        return []
    me = os.getpid()
    owner_key, run_key = OWNER_MARKER.encode(), RUN_MARKER.encode()
    killed = []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        env = _environ(int(name))
        owner, run_id = env.get(owner_key), env.get(run_key)
        if owner is None or run_id is None or _owner_alive(owner.decode(errors="replace")):
            continue
        _kill_pinned(int(name), f"\0{RUN_MARKER}={run_id.decode(errors='replace')}\0".encode())
        killed.append(int(name))
    return killed
