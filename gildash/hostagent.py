"""gildash's host agent: one stdlib-only file that gildash copies to a remote host and starts over ssh.

`python3 hostagent.py watch` streams the host's per-core load; `python3 hostagent.py run -- ARGV...` runs
one workload there, passes its stdout through unchanged and streams its process tree's CPU, threads and
memory, its stderr and its exit as JSON records (docs/protocol.md, "Host agent records"). Every process
the workload starts (its group, its session, descendants that escaped both) dies with the run or when
the connection drops: nothing outlives the agent.

Runs on any Python 3.9+ on Linux, reads /proc directly (no psutil) and imports nothing from gildash (an
import-linter contract says so): keep it 3.9 syntax and stdlib only. Cheap by design: a sample reads
/proc/stat and the workload's own /proc files; the process table is walked only when /proc/loadavg says a
process was created since the last walk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Sequence
from typing import Any, NoReturn

VERSION = 1
"""Version of the agent's records (the hello line says it)."""
DEFAULT_INTERVAL_S = 0.25
"""Seconds between samples (the dashboard's 4 Hz)."""
MAX_THREAD_LANES = 16
"""At most this many threads per proc record (the busiest, listed by thread id)."""
MIN_THREAD_CPU_S = 0.01
"""A thread is listed once it used this much CPU since first seen (hides idle helper threads)."""
RESCAN_S = 5.0
"""Longest time the tree is trusted without walking the whole process table (a safety net)."""
STDERR_LINE_CHARS = 4096
"""A workload's stderr line is cut at this many characters."""
KILL_GRACE_S = 2.0
"""After `stop` (SIGTERM to the group), SIGKILL the whole tree this much later."""
DRAIN_S = 0.3
"""Once the main process is gone, how long its pipes may still deliver before the tree is killed."""
MARKER = "GILDASH_AGENT_RUN"
"""Environment variable carrying the run's token: finds descendants that left the tree in every way."""
PROC = "/proc"
PR_SET_CHILD_SUBREAPER = 36
"""prctl option (Linux >= 3.4): orphaned descendants are re-parented to us instead of to init."""

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# Fields of /proc/PID/stat after the command name (field 3 of proc(5) is index 0 here).
_STATE, _PPID, _PGRP, _SESSION = 0, 1, 2, 3
_UTIME, _STIME, _CUTIME, _CSTIME = 11, 12, 13, 14
_NUM_THREADS, _STARTTIME, _RSS = 17, 19, 21


class AgentError(Exception):
    """A one-line failure reported as an error record (exit 2)."""


# --- output ------------------------------------------------------------------------------------------


class Channel:
    """JSON records and raw bytes written whole to one file descriptor (several threads share it)."""

    def __init__(self, fd: int, lost: threading.Event) -> None:
        self._fd = fd
        self._lost = lost
        self._lock = threading.Lock()

    def write_bytes(self, data: bytes) -> bool:
        """Write all of data; False (and the connection marked lost) when the reader is gone."""
        with self._lock:
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                self._lost.set()
                return False
        return True

    def record(self, kind: str, **fields: Any) -> bool:
        """One `{"agent": kind, ...}` line."""
        fields = dict(agent=kind, **fields)
        line = json.dumps(fields, separators=(",", ":"), allow_nan=False) + "\n"
        return self.write_bytes(line.encode())


# --- /proc readers -----------------------------------------------------------------------------------


def _read(path: str, size: int = 4096) -> bytes | None:
    """Up to size bytes of a file in one read (plain syscalls: no file object per sample); None if gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def _stat_fields(path: str) -> list[bytes] | None:
    """The fields of a /proc/PID/stat (or task stat) after the command name; None when gone or odd."""
    data = _read(path)
    if not data:
        return None
    end = data.rfind(b")")  # the command name may hold spaces and parentheses
    fields = data[end + 2 :].split()
    return fields if end >= 0 and len(fields) > _RSS else None


def proc_pids() -> set[int] | None:
    """The pids /proc lists now (None when it cannot be listed)."""
    try:
        names = os.listdir(PROC)
    except OSError:
        return None
    return {int(name) for name in names if name.isdigit()}


def parent_pid(pid: int) -> int | None:
    """The parent of a process from its /proc stat; None when it is gone (or there is no /proc)."""
    fields = _stat_fields(f"{PROC}/{pid}/stat")
    return int(fields[_PPID]) if fields is not None else None


def _last_pid() -> int | None:
    """The most recently created pid (or thread id) on the machine: a cheap 'has anything forked?'."""
    data = _read(PROC + "/loadavg", 256)
    try:
        return int(data.split()[-1]) if data else None
    except (ValueError, IndexError):
        return None


class CoreLoad:
    """Busy percent per logical CPU between consecutive reads of /proc/stat (first read: zeros)."""

    def __init__(self) -> None:
        self._prev: list[tuple[int, int]] = []

    def _counters(self) -> list[tuple[int, int]]:
        """(busy, total) clock ticks per CPU, in /proc/stat's order."""
        try:
            fd = os.open(PROC + "/stat", os.O_RDONLY)
        except OSError:
            return []
        chunks: list[bytes] = []
        try:
            # The per-CPU lines come first: stop reading at the interrupt counters (long on big machines).
            while True:
                chunk = os.read(fd, 16384)
                chunks.append(chunk)
                if not chunk or b"\nintr" in chunk:
                    break
        except OSError:
            return []
        finally:
            os.close(fd)
        out = []
        for line in b"".join(chunks).split(b"\n"):
            if not line.startswith(b"cpu"):
                break
            if line[3:4] == b" ":
                continue  # the all-CPU line
            try:
                # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
                values = [int(v) for v in line.split()[1:9]]
            except ValueError:
                continue
            total = sum(values)
            out.append((total - values[3] - (values[4] if len(values) > 4 else 0), total))
        return out

    def sample(self) -> list[float]:
        """Percent busy per CPU since the previous call, 0..100, two decimals."""
        now = self._counters()
        prev, self._prev = self._prev, now
        if len(prev) != len(now):
            return [0.0] * len(now)
        out = []
        for (busy1, total1), (busy0, total0) in zip(now, prev):
            d_total = total1 - total0
            pct = 100.0 * (busy1 - busy0) / d_total if d_total > 0 else 0.0
            out.append(round(min(100.0, max(0.0, pct)), 2))
        return out


# --- machine facts (the keys of gildash.engine.machine.MachineFacts.to_dict) ----------------------


def _text(path: str) -> str | None:
    try:
        with open(path, errors="replace") as fh:
            return fh.read().strip()
    except (OSError, ValueError):
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _mhz(text: str | None) -> float | None:
    khz = _int(text)
    return khz / 1000.0 if khz is not None and khz > 0 else None


def parse_cpu_list(text: str | None) -> list[int]:
    """'0-3,8' -> [0, 1, 2, 3, 8]; [] for empty or malformed text."""
    out: set[int] = set()
    try:
        for part in (text or "").split(","):
            part = part.strip()
            if part:
                lo, _, hi = part.partition("-")
                out.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        return []
    return sorted(out)


def _cpus(sys_root: str) -> list[dict[str, Any]]:
    base = sys_root + "/devices/system/cpu"
    try:
        names = os.listdir(base)
    except OSError:
        return []
    numbers = sorted(int(n[3:]) for n in names if n.startswith("cpu") and n[3:].isdigit())
    online = set(parse_cpu_list(_text(base + "/online")))
    out = []
    for n in numbers:
        if online and n not in online:
            continue  # an offline CPU keeps its directory but has no topology
        topo, freq = f"{base}/cpu{n}/topology", f"{base}/cpu{n}/cpufreq"
        out.append(
            {
                "cpu": n,
                "package": _int(_text(topo + "/physical_package_id")),
                "core": _int(_text(topo + "/core_id")),
                "siblings": parse_cpu_list(_text(topo + "/thread_siblings_list")),
                "current_mhz": _mhz(_text(freq + "/scaling_cur_freq")),
                "max_mhz": _mhz(_text(freq + "/cpuinfo_max_freq")),
                "governor": _text(freq + "/scaling_governor") or None,
            }
        )
    return out


def _core_key(cpu: dict[str, Any]) -> tuple[Any, ...] | None:
    if cpu["siblings"]:
        return ("siblings", *cpu["siblings"])
    if cpu["core"] is not None:
        return ("id", cpu["package"], cpu["core"])
    return None


def _cpu_model(proc_root: str) -> str | None:
    text = _text(proc_root + "/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor", "cpu"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return None


def _load_average(proc_root: str) -> list[float] | None:
    try:
        load = [float(x) for x in (_text(proc_root + "/loadavg") or "").split()[:3]]
    except ValueError:
        load = []
    if len(load) == 3:
        return load
    if proc_root == PROC:
        try:
            return list(os.getloadavg())  # macOS and the BSDs have no /proc (the engine reads facts there)
        except (AttributeError, OSError):
            return None
    return None


def python_label() -> str:
    """This interpreter as gildash names it, e.g. 'CPython 3.13.5t'."""
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return f"{platform.python_implementation()} {platform.python_version()}{'t' if free_threaded else ''}"


def machine_facts(sys_root: str = "/sys", proc_root: str = PROC) -> dict[str, Any]:
    """The host's facts as far as /proc and /sys tell (unknown: None); never raises.

    The roots are injectable for tests; gildash.engine.machine.read_machine reads this machine through it.
    """
    try:
        cpus = _cpus(sys_root)
    except Exception:  # noqa: BLE001 - an odd /sys must not cost the host its other facts
        cpus = []
    keys = [_core_key(c) for c in cpus]
    per_core: dict[tuple[Any, ...], int] = {}
    for key in keys:
        if key is not None:
            per_core[key] = per_core.get(key, 0) + 1
    complete = bool(per_core) and None not in keys
    try:
        usable: list[int] | None = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    try:
        os_name = platform.platform()
    except Exception:  # noqa: BLE001 - platform probes the OS in ways that may fail on odd systems
        os_name = sys.platform
    return {
        "logical_cores": os.cpu_count(),
        "physical_cores": len(per_core) if complete else None,
        "smt_per_core": max(per_core.values()) if complete else None,
        "usable_cpus": usable,
        "cpu_model": _cpu_model(proc_root),
        "cpus": cpus,
        "load_average": _load_average(proc_root),
        "python": python_label(),
        "os": os_name,
        "taken_at": time.time(),
    }


def hello(channel: Channel) -> bool:
    """The first record: versions and the host's facts."""
    return channel.record(
        "hello",
        version=VERSION,
        cpu_count=os.cpu_count() or 1,
        python=platform.python_version(),
        machine=machine_facts(),
    )


# --- the workload's process tree ---------------------------------------------------------------------


class Tree:
    """The workload's processes: its group, its session, every descendant of it or of the agent.

    The agent is a child subreaper where the kernel allows, so a double-forked descendant is re-parented
    to the agent and stays a descendant. Each member is remembered with its start time, so a reused pid
    is never taken for it. The process table is walked again only when a pid was created since the last
    walk (/proc/loadavg), and then only new pids and members are read (an outsider never becomes a
    member: it cannot join our session or group, and only our members' children are ours).
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.me = os.getpid()
        self.members: dict[int, bytes] = {}
        """pid -> start time of every live member (zombies included until reaped)."""
        self.ever: dict[int, bytes] = {}
        """Every member ever seen (the last kill rounds re-check them)."""
        self._info: dict[int, tuple[int, int, int, bytes]] = {}  # pid -> (ppid, pgrp, session, start)
        self._walk_pid: int | None = None
        self._full_at = -1e9

    def refresh(self, force: bool = False) -> None:
        """Walk the process table if a process may have been created since the last walk."""
        last, now = _last_pid(), time.monotonic()
        if (
            not force
            and self._walk_pid is not None
            and last == self._walk_pid
            and now - self._full_at < RESCAN_S
        ):
            return
        full = force or now - self._full_at >= RESCAN_S
        live = proc_pids()
        if live is None:
            return
        info = {pid: v for pid, v in self._info.items() if pid in live} if not full else {}
        for pid in live:
            if pid in info and pid not in self.members:
                continue  # an outsider seen before: it cannot have become ours
            fields = _stat_fields(f"{PROC}/{pid}/stat")
            if fields is not None:
                info[pid] = (
                    int(fields[_PPID]),
                    int(fields[_PGRP]),
                    int(fields[_SESSION]),
                    fields[_STARTTIME],
                )
            else:
                info.pop(pid, None)
        self._info = info
        self._walk_pid = last
        if full:
            self._full_at = now
        self._recompute()

    def _recompute(self) -> None:
        root = self.root
        ours = {
            pid
            for pid, (ppid, pgrp, sid, _) in self._info.items()
            if pid != self.me and (pid == root or pgrp == root or sid == root or ppid == self.me)
        }
        # Once ours, always ours while it lives (one that left the group, the session and its parent too).
        ours.update(
            pid for pid, start in self.members.items() if pid in self._info and self._info[pid][3] == start
        )
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _, _) in self._info.items():
            children.setdefault(ppid, []).append(pid)
        todo = list(ours)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in ours and child != self.me:
                    ours.add(child)
                    todo.append(child)
        self.members = {pid: self._info[pid][3] for pid in ours}
        self.ever.update(self.members)

    def forget(self, pid: int) -> None:
        """pid is gone (its /proc entry vanished or belongs to a new process)."""
        self.members.pop(pid, None)
        self._info.pop(pid, None)

    def marked(self, token: str) -> list[int]:
        """Live pids whose environment carries the run's marker (they may have left every other link)."""
        needle = f"\0{MARKER}={token}\0".encode()
        out = []
        for pid in proc_pids() or ():
            if pid != self.me:
                data = _read(f"{PROC}/{pid}/environ", 1 << 20)
                if data and needle in b"\0" + data:
                    out.append(pid)
        return out


def _start_time(pid: int) -> bytes | None:
    fields = _stat_fields(f"{PROC}/{pid}/stat")
    return fields[_STARTTIME] if fields is not None else None


def signal_pid(pid: int, start: bytes | None, sig: int) -> None:
    """Send sig to pid if it is still the process that started at `start` (pinned by a pidfd if we can)."""
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    try:
        if pidfd_open is None or send is None:
            if start is None or _start_time(pid) == start:
                os.kill(pid, sig)
            return
        fd = pidfd_open(pid)
    except OSError:
        return
    try:
        if start is None or _start_time(pid) == start:  # the pidfd now pins the process we checked
            send(fd, sig)
    except OSError:
        pass
    finally:
        os.close(fd)


class TreeSampler:
    """Effective cores, per-thread use and memory of the workload's tree between consecutive samples."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._prev_wall = time.monotonic()
        self._prev_cpu = self._cpu_s_of_reaped()
        self._thread_prev: dict[int, int] = {}
        self._thread_first: dict[int, int] = {}

    @staticmethod
    def _cpu_s_of_reaped() -> float:
        """CPU seconds of the agent's reaped children (orphans it adopted; the workload once reaped)."""
        import resource  # Unix only: the engine imports this module for its machine facts on every OS

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def _threads(self, pid: int, fields: list[bytes]) -> list[tuple[int, int]]:
        """(tid, user+sys ticks) of each thread of pid."""
        if fields[_NUM_THREADS] == b"1":
            # One thread: its time is the process's own (what dead threads used is constant, and only
            # differences are ever used), so one read less.
            return [(pid, int(fields[_UTIME]) + int(fields[_STIME]))]
        out = []
        try:
            tids = os.listdir(f"{PROC}/{pid}/task")
        except OSError:
            return []
        for tid in tids:
            task = _stat_fields(f"{PROC}/{pid}/task/{tid}/stat")
            if task is not None:
                out.append((int(tid), int(task[_UTIME]) + int(task[_STIME])))
        return out

    def sample(self) -> dict[str, Any]:
        """The fields of one proc record (t excluded)."""
        self.tree.refresh()
        cpu_ticks = 0
        rss_pages = 0
        threads: list[tuple[int, int]] = []
        for pid, start in list(self.tree.members.items()):
            fields = _stat_fields(f"{PROC}/{pid}/stat")
            if fields is None or fields[_STARTTIME] != start:
                self.tree.forget(pid)
                continue
            own = int(fields[_UTIME]) + int(fields[_STIME])
            cpu_ticks += own + int(fields[_CUTIME]) + int(fields[_CSTIME])
            if fields[_STATE] != b"Z":
                rss_pages += int(fields[_RSS])
                threads.extend(self._threads(pid, fields))
        now = time.monotonic()
        cpu = cpu_ticks / CLK_TCK + self._cpu_s_of_reaped()
        d_wall = max(now - self._prev_wall, 1e-6)
        effective = max(0.0, cpu - self._prev_cpu) / d_wall
        self._prev_wall, self._prev_cpu = now, cpu

        busy: list[tuple[float, int]] = []
        seen: dict[int, int] = {}
        min_ticks = MIN_THREAD_CPU_S * CLK_TCK
        for tid, total in threads:
            seen[tid] = total
            first = self._thread_first.setdefault(tid, total)
            prev = self._thread_prev.get(tid)
            if total - first < min_ticks and (prev is None or total <= prev):
                continue
            util = 0.0 if prev is None else min(1.0, max(0.0, (total - prev) / CLK_TCK / d_wall))
            busy.append((util, tid))
        self._thread_prev = seen
        busiest = sorted(busy, key=lambda ut: (-ut[0], ut[1]))[:MAX_THREAD_LANES]
        return {
            "effective_cores": round(effective, 4),
            "rss": rss_pages * PAGE_SIZE,
            "processes": len(self.tree.members),
            "threads": [[tid, round(util, 4)] for util, tid in sorted(busiest, key=lambda ut: ut[1])],
        }


# --- input and signals -------------------------------------------------------------------------------


class Inbox:
    """What the local side and the OS asked for: `stop` lines, stdin EOF, SIGTERM/SIGHUP/SIGINT."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        """Set whenever anything below changes (the main loop sleeps on it)."""
        self.stop = threading.Event()
        """A `stop` line arrived."""
        self.lost = threading.Event()
        """stdin reached EOF, a signal asked us to end, or a write found the reader gone."""

    def start(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        threading.Thread(target=self._read_stdin, name="stdin", daemon=True).start()

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self.lost.set()
        self.wake.set()

    def _read_stdin(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(0, 4096)  # the raw fd: no buffered stdin object a shutdown could block on
            except OSError:
                chunk = b""
            if not chunk:
                self.lost.set()
                self.wake.set()
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            pending = pending[-64:]  # only short command words matter
            if any(line.strip() == b"stop" for line in lines):
                self.stop.set()
                self.wake.set()


# --- modes -------------------------------------------------------------------------------------------


def watch(interval: float) -> int:
    """Stream the host's per-core load until stdin closes or a signal ends us."""
    inbox = Inbox()
    out = Channel(1, inbox.lost)
    inbox.start()
    cores = CoreLoad()
    cores.sample()
    if not hello(out):
        return 0
    next_at = time.monotonic() + interval
    while not inbox.lost.is_set():
        inbox.wake.wait(max(0.0, next_at - time.monotonic()))
        inbox.wake.clear()
        now = time.monotonic()
        if now >= next_at:
            out.record("cores", t=round(now, 4), percent=cores.sample())
            next_at = max(next_at + interval, now)  # a late tick never causes a burst of catch-up ticks
    return 0


def _pump_stdout(fd: int, out: Channel) -> None:
    """The workload's stdout, byte for byte, to ours (written per read chunk)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk or not out.write_bytes(chunk):
            return


def _pump_stderr(fd: int, err: Channel) -> None:
    """The workload's stderr, one stderr record per line (cut at STDERR_LINE_CHARS)."""
    pending = b""
    cut = False  # the current line was already sent cut: drop the rest of it

    def send(raw: bytes) -> bool:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        return err.record("stderr", line=text[:STDERR_LINE_CHARS])

    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            if pending and not cut:
                send(pending)
            return
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if not cut and not send(line):
                return
            cut = False
        if not cut and len(pending) > 4 * STDERR_LINE_CHARS:  # utf-8: at most 4 bytes a character
            send(pending)
            pending, cut = b"", True
        elif cut:
            pending = b""


class Workload:
    """One running workload, its tree, and how to end it."""

    def __init__(self, argv: Sequence[str], cwd: str | None, env: dict[str, str]) -> None:
        import secrets  # lazy: gildash imports this module at start-up for its readers; only a run needs it

        self.token = secrets.token_hex(8)
        full_env = dict(os.environ)
        full_env.update(env)
        full_env[MARKER] = self.token
        try:
            self.proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise AgentError(f"cannot start {argv[0]!r}: {_one_line(exc)}") from None
        self.tree = Tree(self.proc.pid)
        self.tree.refresh(force=True)

    def terminate(self) -> None:
        """SIGTERM (and SIGCONT, so a stopped member can act on it) to the workload's process group."""
        for sig in (signal.SIGTERM, signal.SIGCONT):
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass

    def reap_adopted(self) -> None:
        """Reap the orphans re-parented to us that have exited (never the workload: Popen owns it)."""
        for pid in list(self.tree.members):
            if pid != self.proc.pid:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except OSError:
                    continue  # not our child
                if done:
                    self.tree.forget(pid)

    def kill_all(self, budget_s: float = 2.0) -> None:
        """SIGKILL every member and every process carrying the marker, until none is left (or budget_s)."""
        deadline = time.monotonic() + budget_s
        while True:
            self.tree.refresh(force=True)
            targets = dict(self.tree.ever)
            targets.update(self.tree.members)
            for pid in self.tree.marked(self.token):
                targets.setdefault(pid, _start_time(pid) or b"")
            alive = {pid: start for pid, start in targets.items() if _alive(pid, start)}
            if not alive or time.monotonic() >= deadline:
                return
            for pid, start in alive.items():
                signal_pid(pid, start or None, signal.SIGKILL)
                signal_pid(pid, start or None, signal.SIGCONT)
            self.proc.poll()
            self.reap_adopted()
            time.sleep(0.02)


def _alive(pid: int, start: bytes) -> bool:
    """pid is still the process that started at `start` and has not exited (a zombie has)."""
    fields = _stat_fields(f"{PROC}/{pid}/stat")
    return fields is not None and fields[_STATE] != b"Z" and (not start or fields[_STARTTIME] == start)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


def _wake_on_exit(proc: subprocess.Popen[bytes], inbox: Inbox) -> None:
    """Reap the workload's main process (Popen keeps its status) and wake the main loop."""
    proc.wait()
    inbox.wake.set()


def _become_subreaper() -> None:
    """Orphaned descendants come to us rather than to init (Linux; silently nothing elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def run(
    argv: Sequence[str], interval: float, cwd: str | None, env: dict[str, str], timeout: float | None
) -> int:
    """Run argv, pass its stdout through, stream records on stderr; 0 once it ended, 2 if it cannot start."""
    inbox = Inbox()
    out, err = Channel(1, inbox.lost), Channel(2, inbox.lost)
    inbox.start()
    hello(err)
    _become_subreaper()
    cores = CoreLoad()
    cores.sample()
    try:
        work = Workload(argv, cwd, env)
    except AgentError as exc:
        err.record("error", message=str(exc))
        return 2
    proc = work.proc
    started = time.monotonic()
    err.record("started", pid=proc.pid, t=round(started, 4))
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump_stdout, args=(proc.stdout.fileno(), out), name="stdout", daemon=True),
        threading.Thread(target=_pump_stderr, args=(proc.stderr.fileno(), err), name="stderr", daemon=True),
    ]
    # The main process's exit wakes the loop at once (no polling between samples).
    pumps.append(threading.Thread(target=_wake_on_exit, args=(proc, inbox), name="wait", daemon=True))
    for pump in pumps:
        pump.start()
    sampler = TreeSampler(work.tree)
    stopped_by: str | None = None
    kill_at: float | None = None
    next_at = started + interval
    try:
        while proc.poll() is None:
            if inbox.lost.is_set():
                stopped_by = "hangup"
                break
            now = time.monotonic()
            if stopped_by is None and (
                inbox.stop.is_set() or (timeout is not None and now - started >= timeout)
            ):
                stopped_by = "stop" if inbox.stop.is_set() else "timeout"
                work.terminate()
                kill_at = now + KILL_GRACE_S
            if kill_at is not None and now >= kill_at:
                work.kill_all()
                kill_at = now + KILL_GRACE_S
            if now >= next_at:
                fields = sampler.sample()
                work.reap_adopted()
                err.record("proc", t=round(now, 4), cores=cores.sample(), **fields)
                next_at = max(next_at + interval, now)
            until = min(next_at, kill_at if kill_at is not None else next_at)
            if stopped_by is None and timeout is not None:
                until = min(until, started + timeout)
            inbox.wake.wait(max(0.0, until - time.monotonic()))
            inbox.wake.clear()
        if stopped_by != "hangup":
            # The main process is gone: let its pipes deliver what they hold, then end the rest of the tree.
            pumps[0].join(DRAIN_S)
    finally:
        work.kill_all()
    try:
        returncode = proc.wait(KILL_GRACE_S)
    except subprocess.TimeoutExpired:  # SIGKILLed yet alive: stuck in the kernel (uninterruptible I/O)
        err.record("error", message=f"workload pid {proc.pid} did not die after SIGKILL")
        return 2
    for pump in pumps[:2]:
        pump.join(0.5)  # the tree is dead; a pipe held by something we could not find is not waited for
    err.record("exit", returncode=returncode, t=round(time.monotonic(), 4), stopped_by=stopped_by)
    return 0


# --- command line ------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors become one error record (exit 2), not a usage text."""

    def error(self, message: str) -> NoReturn:
        raise AgentError(message)


def _interval(text: str) -> float:
    value = float(text)
    if not 0.01 <= value <= 60.0:
        raise ValueError(text)
    return value


def _timeout(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1e9:
        raise ValueError(text)
    return value


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(text)
    return key, value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The agent's command line: `watch [--interval S]` or `run [options] -- ARGV...`."""
    parser = _Parser(prog="hostagent.py", description=__doc__.splitlines()[0] if __doc__ else None)
    modes = parser.add_subparsers(dest="mode", required=True, parser_class=_Parser)
    watch_p = modes.add_parser("watch")
    watch_p.add_argument("--interval", type=_interval, default=DEFAULT_INTERVAL_S)
    run_p = modes.add_parser("run")
    run_p.add_argument("--interval", type=_interval, default=DEFAULT_INTERVAL_S)
    run_p.add_argument("--cwd", default=None)
    run_p.add_argument("--env", type=_env_pair, action="append", default=[])
    run_p.add_argument("--timeout", type=_timeout, default=None)
    run_p.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.mode == "run":
        command = list(args.argv)
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            raise AgentError("run: no command after --")
        args.argv = command
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; every failure is one error record and exit 2, never a traceback."""
    err = Channel(2, threading.Event())
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.mode == "watch":
            return watch(args.interval)
        return run(args.argv, args.interval, args.cwd, dict(args.env), args.timeout)
    except AgentError as exc:
        err.record("error", message=str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        err.record("error", message=f"agent failed: {type(exc).__name__}: {_one_line(exc)}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
