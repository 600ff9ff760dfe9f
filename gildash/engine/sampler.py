"""psutil sampling: a run's process tree and threads, pre-run noise (machine per-core load: core_load.py).

Every sampler keeps its OWN previous counters (never psutil.cpu_percent, whose module-global state
would be shared with any other sampler in the process). Calls block briefly: run them in a thread
from async code. Never imports textual.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Collection

import psutil

# The machine's per-core samplers live in core_load (no psutil at import); re-exported for importers here.
from gildash.engine.core_load import CoreSampler as CoreSampler
from gildash.engine.core_load import SimulatedCoreSampler as SimulatedCoreSampler
from gildash.engine.core_load import busy_seconds
from gildash.engine.model import ProcSample
from gildash.hostagent import parent_pid, proc_pids

MAX_THREAD_LANES = 16
"""At most this many per-thread lanes per sample."""
MIN_THREAD_CPU_S = 0.01
"""A thread is shown once it used this much CPU since first seen (hides idle main/helper threads)."""
RESCAN_S = 5.0
"""Longest time TreeSampler.sample() goes without a full process-table scan (one drops descendants that
were re-parented away from the tree; new ones are found without it)."""
LOADAVG = "/proc/loadavg"
"""Linux: its last field is the most recently created pid, a cheap 'has anything forked?' signal."""


def _last_pid() -> int | None:
    """The most recently created pid (or thread id) on the machine; None where /proc/loadavg is absent."""
    try:
        with open(LOADAVG, "rb") as fh:
            return int(fh.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def _ancestor_pids() -> set[int]:
    """Our parent chain (shell, tmux server, terminal emulator): the display of the observer itself.

    Drawing the dashboard costs the terminal some CPU; counting it would stamp every dashboard run noisy.
    """
    try:
        return {p.pid for p in psutil.Process().parents() if p.pid > 1}
    except (psutil.Error, OSError):
        return set()


def system_noise(duration: float = 0.3, exclude_pids: Collection[int] = ()) -> float:
    """Cores of CPU used by processes other than `exclude_pids` over `duration` seconds (blocks)."""
    exclude = set(exclude_pids) | {os.getpid()} | _ancestor_pids()

    def excluded_cpu() -> float:
        total = 0.0
        for pid in exclude:
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except (psutil.Error, OSError):
                pass
        return total

    start_wall = time.monotonic()
    start_sys = psutil.cpu_times()
    start_ex = excluded_cpu()
    time.sleep(duration)
    end_sys = psutil.cpu_times()
    end_ex = excluded_cpu()
    wall = time.monotonic() - start_wall
    if wall <= 0:
        return 0.0
    busy = busy_seconds(end_sys) - busy_seconds(start_sys) - (end_ex - start_ex)
    return max(0.0, busy / wall)


class TreeSampler:
    """Samples one process and its descendants: effective cores, per-thread use, RSS.

    effective_cores = Δ(user+sys of every live process in the tree + CPU of reaped children) / Δwall.
    Thread lanes: every thread of every process in the tree that has used >= MIN_THREAD_CPU_S since it
    was first seen, ordered by thread id, the first MAX_THREAD_LANES of them; utilisation is
    Δ(user+sys) / Δwall clipped to 0..1 (0 on the sample that first sees a thread).

    Finding descendants means scanning every process of the machine (psutil's children()), so sample()
    reuses the last scan's tree while no pid was created since (/proc/loadavg's last pid is unchanged:
    nothing forked, so nothing new can be in the tree and no pid can have been reused) and it is less
    than RESCAN_S old. When a pid was created, only the processes that are new since the last look are
    read: a new member of the tree is a new process whose parent is a member (on a busy machine
    something forks between most samples, and a full scan costs a millisecond or more). tree() always
    scans.
    """

    def __init__(self, pid: int, *, t0: float | None = None) -> None:
        self.pid = pid
        self._t0 = time.monotonic() if t0 is None else t0
        self._root: psutil.Process | None
        try:
            self._root = psutil.Process(pid)
        except (psutil.Error, OSError):
            self._root = None
        self._prev_wall = self._t0
        self._prev_cpu = 0.0
        self._thread_prev: dict[int, float] = {}
        self._thread_first: dict[int, float] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()  # tree() runs in a worker thread while the loop may read _procs
        self._live: list[psutil.Process] = []  # the last scan's tree, minus processes found gone since
        self._scan_at = -math.inf  # monotonic time of that scan
        self._scan_pid: int | None = None  # _last_pid() read just before the last look at the table
        self._listed: set[int] = set()  # the pids /proc listed at that look
        self.cpu_user_s: float | None = None
        """User CPU of the tree at the last successful sample."""
        self.cpu_sys_s: float | None = None
        """System CPU of the tree at the last successful sample."""

    def tree(self) -> list[psutil.Process]:
        """The root and its live descendants now (remembered for kill_tree even after they exit)."""
        root = self._root
        if root is None:
            return []
        # Read before the scan: a process forked during the scan then forces the next one.
        last_pid, at = _last_pid(), time.monotonic()
        self._listed = proc_pids() or set()
        try:
            procs = [root, *root.children(recursive=True)]
        except (psutil.Error, OSError):
            self._live = []
            return []
        with self._lock:
            for proc in procs:
                self._procs.setdefault(proc.pid, proc)
        self._live, self._scan_at, self._scan_pid = list(procs), at, last_pid
        return procs

    def _current(self) -> list[psutil.Process]:
        """The tree now: the last scan's when nothing forked since, grown by the new processes whose
        parent is in it when something did, and a full scan when the last is RESCAN_S old."""
        if self._live and self._scan_pid is not None and time.monotonic() - self._scan_at < RESCAN_S:
            last_pid = _last_pid()
            if last_pid == self._scan_pid:
                return list(self._live)
            grown = self._grow(last_pid)
            if grown is not None:
                return grown
        return self.tree()

    def _grow(self, last_pid: int | None) -> list[psutil.Process] | None:
        """The known tree plus the processes listed since the last look whose parent is in it (None when
        /proc cannot be listed: scan fully)."""
        listed = proc_pids()
        if not listed:
            return None
        new = listed - self._listed
        self._listed, self._scan_pid = listed, last_pid
        members = {proc.pid: proc for proc in self._live}
        parents = {pid: parent_pid(pid) for pid in new}
        found = True
        while found:  # a new child of a new child: repeat until nothing joins
            found = False
            for pid, parent in list(parents.items()):
                if parent not in members:
                    continue
                del parents[pid]
                try:
                    proc = psutil.Process(pid)
                except (psutil.Error, OSError):
                    continue  # exited already
                members[pid] = proc
                found = True
                with self._lock:
                    self._procs.setdefault(pid, proc)
        self._live = list(members.values())
        return list(self._live)

    def known_processes(self) -> list[psutil.Process]:
        """Every process of the tree ever seen by tree() (the root included)."""
        with self._lock:
            return list(self._procs.values())

    def sample(self) -> ProcSample | None:
        """One sample, or None when the root process is gone."""
        procs = self._current()
        if not procs:
            return None
        now = time.monotonic()
        user = system = 0.0
        rss = 0
        threads: list[tuple[int, float]] = []
        for proc in procs:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    user += times.user + times.children_user
                    system += times.system + times.children_system
                    rss += proc.memory_info().rss
                    threads.extend((th.id, th.user_time + th.system_time) for th in proc.threads())
            except psutil.ZombieProcess:
                continue  # exited, not yet reaped: still part of the tree
            except psutil.NoSuchProcess:
                if proc is self._root:
                    self._live = []
                    return None  # the root is gone (reaped): the run is over
                with contextlib.suppress(ValueError):
                    self._live.remove(proc)  # exited since the scan
                continue
            except (psutil.Error, OSError):
                continue  # exited between children() and here
        self.cpu_user_s, self.cpu_sys_s = user, system
        d_wall = max(now - self._prev_wall, 1e-6)
        cpu = user + system
        effective = max(0.0, cpu - self._prev_cpu) / d_wall
        self._prev_wall, self._prev_cpu = now, cpu

        util: list[tuple[int, float]] = []
        seen: dict[int, float] = {}
        for tid, total in sorted(threads):
            seen[tid] = total
            first = self._thread_first.setdefault(tid, total)
            prev = self._thread_prev.get(tid)
            if total - first < MIN_THREAD_CPU_S and (prev is None or total - prev <= 0):
                continue
            value = 0.0 if prev is None else min(1.0, max(0.0, (total - prev) / d_wall))
            util.append((tid, value))
        self._thread_prev = seen
        lanes = util[:MAX_THREAD_LANES]
        return ProcSample(
            t=now - self._t0,
            effective_cores=effective,
            thread_util=tuple(v for _, v in lanes),
            thread_ids=tuple(tid for tid, _ in lanes),
            rss_bytes=rss,
            processes=len(procs),
        )


def kill_processes(procs: Collection[psutil.Process]) -> None:
    """SIGKILL each still-running process (psutil refuses if a pid was reused by another process)."""
    for proc in procs:
        try:
            if proc.is_running():
                proc.kill()
        except (psutil.Error, OSError):
            pass
