"""A real OpenSSH server on the loopback address, started from the test suite, and an ssh_config for it.

The server has its own host key, authorized key, config, pid file and port under a temporary directory and
is stopped at the end; gildash reaches it through GILDASH_SSH_CONFIG (ssh -F), so no test reads or writes
~/.ssh. It listens on 127.0.0.1 only. Skipped (with the reason) only where sshd cannot be installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_support import LoopbackSsh

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
"""sshd refuses to start without its privilege-separation directory (the service normally makes it)."""
START_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path, key_type: str = "ed25519") -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", "gildash-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def _sshd_available() -> str | None:
    """Why the loopback sshd cannot run here (None: it can)."""
    if not SSHD.is_file():
        return f"{SSHD} is missing (make system-deps installs Debian's openssh-server)"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the OpenSSH client (ssh, ssh-keygen) is missing"
    return None


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited ({proc.returncode}): {log.read_text(errors='replace')[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(4).startswith(b"SSH"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S:g} s")


@pytest.fixture(scope="session")
def loopback_ssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackSsh]:
    """Start sshd on 127.0.0.1:<free port> for the session; stop it at the end."""
    why = _sshd_available()
    if why is not None:
        if os.environ.get("GILDASH_REQUIRE_SSHD") == "1":
            pytest.fail(why)
        pytest.skip(why)
    if os.geteuid() != 0 and not PRIVSEP_DIR.is_dir():
        pytest.skip(f"sshd needs {PRIVSEP_DIR}, which only root can create")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    base = tmp_path_factory.mktemp("sshd")
    host_key, user_key, stranger_key = base / "host_key", base / "id_user", base / "id_stranger"
    no_python_key = base / "id_no_python"
    for key in (host_key, user_key, stranger_key, no_python_key):
        _keygen(key)
    authorized = base / "authorized_keys"
    # The no-python key logs in to a PATH without python3: a host where gildash cannot run.
    no_python = 'command="PATH=/nonexistent exec /bin/sh -c \\"$SSH_ORIGINAL_COMMAND\\"" '
    authorized.write_text(
        (base / "id_user.pub").read_text() + no_python + (base / "id_no_python.pub").read_text()
    )
    authorized.chmod(0o600)
    user = os.environ.get("USER") or ("root" if os.geteuid() == 0 else os.getlogin())
    log = base / "sshd.log"
    proc: subprocess.Popen[bytes] | None = None
    port = 0
    for _attempt in range(3):  # another process may take the free port between probe and bind
        port = _free_port()
        config = base / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    "ListenAddress 127.0.0.1",
                    f"Port {port}",
                    f"HostKey {host_key}",
                    f"PidFile {base / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "StrictModes no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "PrintMotd no",
                    "MaxSessions 64",
                    "MaxStartups 64",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        with log.open("ab") as log_fh:
            proc = subprocess.Popen(
                [str(SSHD), "-D", "-f", str(config), "-e"],
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=log_fh,
                start_new_session=True,
            )
        try:
            _wait_listening(proc, port, log)
            break
        except RuntimeError:
            _stop(proc)
            proc = None
    if proc is None:
        pytest.fail(f"cannot start the loopback sshd: {log.read_text(errors='replace')[-500:]}")
    common = [
        "  HostName 127.0.0.1",
        f"  Port {port}",
        f"  User {user}",
        f"  UserKnownHostsFile {base / 'known_hosts'}",
        "  StrictHostKeyChecking accept-new",
        "  IdentitiesOnly yes",
        "  LogLevel ERROR",
    ]
    ssh_config = base / "ssh_config"
    ssh_config.write_text(
        "\n".join(
            [
                "Host gildash-loopback",
                *common,
                f"  IdentityFile {user_key}",
                "Host gildash-refused",
                *common,
                f"  IdentityFile {stranger_key}",
                "Host gildash-no-python",
                *common,
                f"  IdentityFile {no_python_key}",
                "Host gildash-unknown",
                "  HostName no-such-host.invalid",
                f"  UserKnownHostsFile {base / 'known_hosts'}",
                "",
            ]
        )
    )
    try:
        yield LoopbackSsh(
            alias="gildash-loopback",
            refused_alias="gildash-refused",
            unknown_alias="gildash-unknown",
            no_python_alias="gildash-no-python",
            ssh_config=ssh_config,
            port=port,
            pid=proc.pid,
        )
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # The listener's process group: its per-connection children end with it.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def ssh_env(loopback_ssh: LoopbackSsh, monkeypatch: pytest.MonkeyPatch) -> LoopbackSsh:
    """GILDASH_SSH_CONFIG pointed at the loopback ssh_config for this test."""
    monkeypatch.setenv("GILDASH_SSH_CONFIG", str(loopback_ssh.ssh_config))
    return loopback_ssh
