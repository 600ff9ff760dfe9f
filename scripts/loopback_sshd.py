"""A private OpenSSH server on 127.0.0.1 and an ssh_config that reaches it: the remote tests' host, the
bench's `--host` section, and a way to try `gildash --host` on one machine.

    python scripts/loopback_sshd.py     # prints the GILDASH_SSH_CONFIG=... line to use, Ctrl-C stops it

Everything (host key, user keys, authorized_keys, configs, pid file, log) lives in one directory; sshd
listens on 127.0.0.1 only, at a free port, and is stopped by stop(). Needs /usr/sbin/sshd (Debian's
openssh-server: `make system-deps`) and, unless /run/sshd exists, root (sshd's privilege-separation dir).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
"""sshd refuses to start without its privilege-separation directory (the service normally makes it)."""
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LoopbackSsh:
    """The loopback sshd and the ssh_config that reaches it."""

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


def unavailable() -> str | None:
    """Why the loopback sshd cannot run here (None: it can)."""
    if not SSHD.is_file():
        return f"{SSHD} is missing (make system-deps installs Debian's openssh-server)"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the OpenSSH client (ssh, ssh-keygen) is missing"
    if not PRIVSEP_DIR.is_dir() and os.geteuid() != 0:
        return f"sshd needs {PRIVSEP_DIR}, which only root can create"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gildash-loopback", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


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


def start(base: Path) -> LoopbackSsh:
    """Start sshd on 127.0.0.1:<free port> with everything in base; RuntimeError when it cannot."""
    why = unavailable()
    if why is not None:
        raise RuntimeError(why)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
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
    log = base / "sshd.log"
    last_error = ""
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
        except RuntimeError as exc:
            last_error = str(exc)
            stop(proc.pid)
            continue
        _write_client_config(base, port, user_key, stranger_key, no_python_key)
        return LoopbackSsh(
            alias="gildash-loopback",
            refused_alias="gildash-refused",
            unknown_alias="gildash-unknown",
            no_python_alias="gildash-no-python",
            ssh_config=base / "ssh_config",
            port=port,
            pid=proc.pid,
        )
    raise RuntimeError(f"cannot start the loopback sshd: {last_error}")


def _write_client_config(
    base: Path, port: int, user_key: Path, stranger_key: Path, no_python_key: Path
) -> None:
    common = [
        "  HostName 127.0.0.1",
        f"  Port {port}",
        f"  User {getpass.getuser()}",
        f"  UserKnownHostsFile {base / 'known_hosts'}",
        "  StrictHostKeyChecking accept-new",
        "  IdentitiesOnly yes",
        "  LogLevel ERROR",
    ]
    (base / "ssh_config").write_text(
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


def stop(pid: int) -> None:
    """Stop the sshd started as pid (its process group: per-connection children end with it)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except OSError:
            return
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.05)


def main() -> int:
    """Run a loopback sshd until Ctrl-C, saying how to point gildash at it."""
    with tempfile.TemporaryDirectory(prefix="gildash-loopback-sshd-") as tmp:
        try:
            ssh = start(Path(tmp))
        except RuntimeError as exc:
            print(f"loopback_sshd: {exc}", file=sys.stderr)
            return 1
        print(f"export GILDASH_SSH_CONFIG={ssh.ssh_config}")
        print(f"gildash --host {ssh.alias}    # Ctrl-C here stops the server", flush=True)
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        except KeyboardInterrupt:
            pass
        finally:
            stop(ssh.pid)
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    raise SystemExit(main())
