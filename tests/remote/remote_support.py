"""What the remote tests share: the loopback sshd's description (conftest starts it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoopbackSsh:
    """The test sshd and the ssh_config that reaches it."""

    alias: str
    """Host alias in ssh_config that logs in with the authorized key."""
    refused_alias: str
    """Host alias for the same server with a key the server does not accept (auth refused)."""
    unknown_alias: str
    """Host alias whose HostName does not resolve."""
    no_python_alias: str
    """Host alias that logs in to a PATH without python3."""
    ssh_config: Path
    """The ssh_config file (pass it as GILDASH_SSH_CONFIG)."""
    port: int
    """The port sshd listens on (127.0.0.1 only)."""
    pid: int
    """sshd's process id."""
