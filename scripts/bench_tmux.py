"""Drive the real dashboard in tmux for scripts/bench.py: start, find its process, send keys, read the screen.

Uses a private tmux server (`tmux -L gildash-bench`) so other tmux sessions on the machine are never
touched and the server's environment is ours; `close()` kills that server and with it the dashboard.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

import psutil

SOCKET = "gildash-bench"
"""tmux -L socket name: our own server, never someone else's."""
SESSION = "gildash-bench"
"""Session name inside that server."""


class Dashboard:
    """One dashboard in a detached tmux pane of a fixed size; use as a context manager."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        width: int = 120,
        height: int = 40,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.argv = tuple(argv)
        self.env = dict(env) if env is not None else None
        """Environment of our tmux server (and so of the dashboard); None: ours."""
        self.cwd = cwd
        self.width = width
        self.height = height
        self.started_at = 0.0
        """perf_counter() just before `tmux new-session` ran."""
        self._proc: psutil.Process | None = None

    def __enter__(self) -> Dashboard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-L", SOCKET, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
            env=self.env,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        """Start the dashboard (a stale session of ours from a crashed bench is killed first)."""
        self._tmux("kill-server", check=False)
        # exec: the pane's process IS gildash, so its pid is the one whose CPU we measure.
        command = "exec " + " ".join(shlex.quote(a) for a in self.argv)
        self.started_at = time.perf_counter()
        self._tmux(
            "new-session", "-d", "-s", SESSION, "-x", str(self.width), "-y", str(self.height),
            "-c", self.cwd, command,
        )  # fmt: skip

    def process(self) -> psutil.Process:
        """The gildash python process (the pane's process, or its python descendant)."""
        if self._proc is not None and self._proc.is_running():
            return self._proc
        pid = int(self._tmux("list-panes", "-t", SESSION, "-F", "#{pane_pid}").split()[0])
        proc = psutil.Process(pid)
        for candidate in (proc, *proc.children(recursive=True)):
            cmd = " ".join(candidate.cmdline())
            if "gildash" in cmd and "python" in (candidate.name() + cmd):
                self._proc = candidate
                return candidate
        self._proc = proc
        return proc

    def own_cpu_s(self) -> float:
        """User+system CPU seconds of the gildash process itself (its threads; never its children)."""
        times = self.process().cpu_times()
        return float(times.user + times.system)

    def workload_children(self) -> list[psutil.Process]:
        """Live child processes of gildash (the run's workload while one streams)."""
        try:
            return [c for c in self.process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]
        except psutil.Error:
            return []

    def capture(self) -> str:
        """The visible screen as text."""
        return self._tmux("capture-pane", "-p", "-t", SESSION, check=False)

    def send(self, *keys: str) -> None:
        """Send keys (tmux key names, e.g. 'r', '7', '+', 'Escape')."""
        self._tmux("send-keys", "-t", SESSION, *keys)

    def wait_for(
        self, predicate: Callable[[str], bool], timeout: float, interval: float = 0.01
    ) -> tuple[float | None, str]:
        """Poll the screen until predicate(screen); (seconds waited or None on timeout, last screen)."""
        start = time.perf_counter()
        screen = ""
        while True:
            screen = self.capture()
            if predicate(screen):
                return time.perf_counter() - start, screen
            if time.perf_counter() - start > timeout:
                return None, screen
            time.sleep(interval)

    def wait_text(self, text: str, timeout: float, interval: float = 0.01) -> float | None:
        """Seconds until `text` is on screen (None on timeout)."""
        return self.wait_for(lambda s: text in s, timeout, interval)[0]

    def close(self) -> None:
        """Quit like a user (x, q, y), then kill our tmux server and any workload that outlived it."""
        proc = self._proc
        seen: list[psutil.Process] = []
        try:
            if proc is not None and proc.is_running():
                seen = self.workload_children()
                if seen:
                    self.send("x")  # stop the run: gildash reaps its whole process group
                    psutil.wait_procs(seen, timeout=5)
                self.send("q")
                self.send("y")  # answers the "a run is in progress" confirmation if it is up
                proc.wait(timeout=5)
        except (psutil.Error, RuntimeError, subprocess.SubprocessError):
            pass
        self._tmux("kill-server", check=False)
        for leftover in ([proc] if proc is not None else []) + seen:
            try:
                leftover.kill()
            except psutil.Error:
                pass
