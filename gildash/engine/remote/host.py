"""One session on a host: the ssh link, the bundle copied there, the host's machine facts and its targets.

`RemoteHost(host).open()` logs in, copies the bundle and reads the host's facts from the agent's hello;
`close()` (also on any failure while opening) ends the link, and with it the host's private directory.
Never imports textual.
"""

from __future__ import annotations

import subprocess
import threading

from gildash.engine.agent_stream import AgentHello, AgentStream, watch_command
from gildash.engine.machine import MachineFacts
from gildash.engine.model import Target
from gildash.engine.remote.bundle import Bundle, upload
from gildash.engine.remote.discovery import discover_remote
from gildash.engine.remote.ssh import RemoteError, SshLink

HELLO_TIMEOUT_S = 20.0
"""The longest the agent may take to say hello (it reads /proc and /sys first)."""


def read_hello(link: SshLink, bundle: Bundle, timeout: float = HELLO_TIMEOUT_S) -> MachineFacts:
    """The host's machine facts, from the hello record of a short `agent watch`; RemoteError on failure."""
    proc = link.popen(watch_command("python3", bundle.agent))
    first: list[bytes] = []

    def read() -> None:
        assert proc.stdout is not None
        first.append(proc.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        proc.kill()  # no hello in time: ssh goes, and the agent with it (EOF)
    try:
        _out, err = proc.communicate(timeout=5)  # closes stdin first: the agent's EOF, it exits
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    hello = AgentStream().parse(first[0]) if first and first[0] else None
    if not isinstance(hello, AgentHello):
        if proc.returncode == 255:
            raise link.failure(err.decode("utf-8", "replace"), 255)
        detail = " ".join(err.decode("utf-8", "replace").split())[-160:] or f"exit code {proc.returncode}"
        raise RemoteError(f"{link.host}: the host agent did not start ({detail})")
    if hello.machine is None:
        raise RemoteError(f"{link.host}: the host agent's hello has no machine facts")
    return hello.machine


class RemoteHost:
    """A session on one host; use as a context manager or call open() and close()."""

    def __init__(self, host: str) -> None:
        self.link = SshLink(host)
        self.bundle: Bundle | None = None
        """The session's copy of the host-side files (None until open)."""
        self.machine: MachineFacts | None = None
        """The host's machine facts from the agent's hello (None until open)."""
        self._targets: list[Target] | None = None
        self._with_rust = False

    @property
    def host(self) -> str:
        """The ssh destination as the user gave it."""
        return self.link.host

    def open(self) -> RemoteHost:
        """Log in, copy the bundle, read the machine facts; RemoteError (and nothing left open) on failure."""
        try:
            self.link.open()
            self.bundle = upload(self.link)
            self.machine = read_hello(self.link, self.bundle)
        except BaseException:
            self.close()
            raise
        return self

    def targets(self, *, include_rust: bool = True) -> list[Target]:
        """The host's targets (discovered once per session; the Rust baseline built there when asked)."""
        if self.bundle is None:
            raise RemoteError(f"the session on {self.host} is not open")
        if self._targets is None or (include_rust and not self._with_rust):
            self._targets = discover_remote(self.link, self.bundle, include_rust=include_rust)
            self._with_rust = include_rust
        return list(self._targets)

    @property
    def cores(self) -> int:
        """The host's logical CPUs (1 when the agent could not tell)."""
        facts = self.machine
        return (facts.usable_logical_cores or facts.logical_cores or 1) if facts is not None else 1

    def close(self) -> None:
        """End the session: the link's guard removes the host's private directory. Idempotent."""
        self.link.close()
        self.bundle = None

    def __enter__(self) -> RemoteHost:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
