"""A real OpenSSH server on the loopback address, started from the test suite, and an ssh_config for it.

The server has its own host key, authorized key, config, pid file and port under a temporary directory and
is stopped at the end; gildash reaches it through GILDASH_SSH_CONFIG (ssh -F), so no test reads or writes
~/.ssh. It listens on 127.0.0.1 only. Skipped (with the reason) only where sshd cannot be installed;
`make test` sets GILDASH_REQUIRE_SSHD=1 so there a missing sshd fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from remote_support import LoopbackSsh, start, stop, unavailable


@pytest.fixture(scope="session")
def loopback_ssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackSsh]:
    """sshd on 127.0.0.1:<free port> for the test session; stopped at the end."""
    why = unavailable()
    if why is not None:
        if os.environ.get("GILDASH_REQUIRE_SSHD") == "1":
            pytest.fail(why)
        pytest.skip(why)
    try:
        ssh = start(tmp_path_factory.mktemp("sshd"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield ssh
    finally:
        stop(ssh.pid)


@pytest.fixture
def ssh_env(loopback_ssh: LoopbackSsh, monkeypatch: pytest.MonkeyPatch) -> LoopbackSsh:
    """GILDASH_SSH_CONFIG pointed at the loopback ssh_config for this test."""
    monkeypatch.setenv("GILDASH_SSH_CONFIG", str(loopback_ssh.ssh_config))
    return loopback_ssh
