"""The host's per-core load while a session is open: the agent's `watch` mode, read in a thread.

`CoreWatch.sample()` returns the newest sample at once (the dashboard polls it on its UI thread), zeros
until the first arrives. `error` says, in one line, why the watch ended early (the connection lost).
Never imports textual.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from gildash.engine.agent_stream import AgentStream, watch_command
from gildash.engine.model import CoreSample
from gildash.engine.remote.host import RemoteHost
from gildash.engine.remote.ssh import RemoteError


class CoreWatch:
    """A running `hostagent.py watch` on the session's host; close() ends it (the agent exits at EOF)."""

    def __init__(self, session: RemoteHost, cpu_count: int, interval: float = 0.25) -> None:
        bundle = session.bundle
        if bundle is None:
            raise RemoteError(f"the session on {session.host} is not open")
        self._session = session
        self._latest = CoreSample(t=time.monotonic(), percent=tuple(0.0 for _ in range(max(1, cpu_count))))
        self._lock = threading.Lock()
        self.error: str | None = None
        """Why the watch ended before close() (one line); None while it runs."""
        self._closing = False
        self._proc = session.link.popen(
            watch_command("python3", bundle.agent, interval), stderr=subprocess.DEVNULL
        )
        self._reader = threading.Thread(target=self._read, name="core-watch", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = AgentStream()
        assert self._proc.stdout is not None
        for line in iter(self._proc.stdout.readline, b""):
            record = stream.parse(line)
            if isinstance(record, CoreSample):
                with self._lock:
                    self._latest = record
        if not self._closing:
            self.error = f"lost the connection to {self._session.host}"

    def sample(self) -> CoreSample:
        """The newest per-core sample of the host (its t: local monotonic seconds)."""
        with self._lock:
            return self._latest

    def close(self) -> None:
        """End the watch (EOF to the agent; ssh killed if it lingers). Idempotent."""
        self._closing = True
        proc = self._proc
        with contextlib.suppress(OSError, ValueError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self._reader.join(2)
        with contextlib.suppress(OSError, ValueError):
            assert proc.stdout is not None
            proc.stdout.close()
