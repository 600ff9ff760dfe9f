"""One multiplexed OpenSSH connection to a host, owned for a session: open, run commands over it, close.

Rides on the system `ssh` client only: BatchMode (never a password prompt; gildash never handles
passwords), the user's ~/.ssh/config (aliases, keys, ports, ProxyJump: the destination is passed as
given) or the file in $GILDASH_SSH_CONFIG (`ssh -F FILE`). The master connection runs a small guard on
the host that makes the session's private directory and removes it when the master's stdin closes:
when gildash ends, normally or by kill -9, the guard cleans up. Every failure is a RemoteError with a
one-line message. Never imports textual; never runs a local shell.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import IO

SSH_CONFIG_ENV = "GILDASH_SSH_CONFIG"
"""An ssh_config file gildash passes to ssh as `-F FILE` (tests; separate configs); unset: ~/.ssh/config."""
CONNECT_TIMEOUT_S = 15
"""ssh's ConnectTimeout: an unreachable host is an error after this long, not a hang."""
ALIVE_INTERVAL_S = 5
"""ServerAliveInterval; with ALIVE_COUNT_MAX a dead connection is noticed within about 15 s."""
ALIVE_COUNT_MAX = 3
OPEN_TIMEOUT_S = 60.0
"""The longest the master may take to log in (ProxyJump hops, slow hosts) before the open fails."""
READY = "gildash-ready"
"""What the guard prints once the host's private directory exists."""
MISSING_PYTHON = 127
"""The remote shell's exit code for a command it cannot find."""

# The master's remote command. Python-2-safe and tiny so a too-old python3 still says what it is.
# The guard owns the session's private directory: made with mkdtemp (0700), removed at stdin EOF.
_GUARD = (
    "import os,shutil,sys,tempfile\n"
    "if sys.version_info[:2] < (3, 9):\n"
    "    sys.stdout.write('gildash-old %d.%d\\n' % sys.version_info[:2]); sys.exit(3)\n"
    "d = tempfile.mkdtemp(prefix='gildash-')\n"
    "sys.stdout.write('gildash-ready %s\\n' % d); sys.stdout.flush()\n"
    "try:\n"
    "    while sys.stdin.buffer.read(65536): pass\n"
    "finally:\n"
    "    shutil.rmtree(d, ignore_errors=True)\n"
)


CONTROL_PREFIX = "gildash-ssh-"
"""Local control directories are <tmp>/gildash-ssh-<pid>-<random>: a killed gildash's are found by pid."""
_CONTROL_DIR = re.compile(r"^gildash-ssh-(\d+)-[A-Za-z0-9_]+$")


def remove_stale_control_dirs(tmp: str | None = None) -> list[str]:
    """Remove the control directories of gildash processes that are gone (killed before they could);
    returns what was removed. Only our own user's directories, only when their pid no longer runs."""
    base = tmp if tmp is not None else tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(base)
    except OSError:
        return []
    for name in names:
        match = _CONTROL_DIR.match(name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        path = os.path.join(base, name)
        try:
            if os.lstat(path).st_uid != os.getuid() or not os.path.isdir(path) or os.path.islink(path):
                continue
            os.kill(int(match.group(1)), 0)
            continue  # its gildash still runs
        except ProcessLookupError:
            pass
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class RemoteError(Exception):
    """Anything that went wrong reaching or using a host; str() is one line for the user."""


def ssh_executable() -> str:
    """The system ssh client; RemoteError when there is none."""
    found = shutil.which("ssh")
    if found is None:
        raise RemoteError("the OpenSSH client (ssh) is not installed; gildash reaches hosts through it")
    return found


def config_args() -> list[str]:
    """`-F FILE` when $GILDASH_SSH_CONFIG names a file, else nothing (ssh reads ~/.ssh/config)."""
    path = os.environ.get(SSH_CONFIG_ENV)
    if not path:
        return []
    if not os.path.isfile(path):
        raise RemoteError(f"{SSH_CONFIG_ENV}={path}: no such file")
    return ["-F", path]


def check_destination(host: str) -> str:
    """host as given when it can be an ssh destination ([user@]host or an alias); RemoteError otherwise."""
    if not host or host.startswith("-") or any(c.isspace() for c in host) or len(host) > 255:
        raise RemoteError(f"not a host: {host!r} (give [user@]HOST or an alias from your ssh config)")
    return host


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


_NOISE = re.compile(r"^(Warning: Permanently added|Connection to \S+ closed\.$)")
"""ssh's chatter that says nothing about a failure (a new known host, a normal close)."""


def explain(host: str, stderr: str, returncode: int | None) -> str:
    """ssh's own failure (exit 255) as one line naming the host and what to do."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    text = "\n".join(lines)
    last = _one_line(lines[-1]) if lines else f"ssh exited with {returncode}"
    if "Could not resolve hostname" in text:
        return f"unknown host {host!r}: it does not resolve (check the name or your ssh config)"
    if "Permission denied" in text or "Too many authentication failures" in text:
        return (
            f"{host} refused the login ({last}); gildash never asks for passwords: "
            "set up a key (ssh-copy-id) or an ssh agent"
        )
    if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return f"{host}: host key verification failed (connect once with ssh to check and accept the key)"
    if "Connection refused" in text:
        return f"cannot connect to {host}: connection refused (is sshd running there?)"
    if "timed out" in text:
        return f"cannot connect to {host}: connection timed out"
    if "Broken pipe" in text or "Connection reset" in text or "closed by remote host" in text:
        return f"lost the connection to {host}"
    return f"{host}: {last}"


def _start_ssh(argv: list[str], stderr: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """ssh with its stdin and stdout piped; RemoteError when it cannot run. In its own session: Ctrl-C in
    the terminal is ours to handle (stop, clean up), not ssh's to die of."""
    try:
        return subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True
        )
    except OSError as exc:
        raise RemoteError(f"cannot run ssh: {exc.strerror or exc}") from None


class SshLink:
    """One multiplexed ssh connection to `host`: `open()`, then `argv()`/`run()` commands, then `close()`.

    Safe to close twice and to close after a failed open. Commands run through the master; when it is
    gone, a command fails with "lost the connection".
    """

    def __init__(self, host: str) -> None:
        self.host = check_destination(host)
        self.remote_dir: str | None = None
        """The session's private directory on the host (None until open)."""
        self._ssh = ssh_executable()
        self._config = config_args()
        self._local_dir: str | None = None
        self._master: subprocess.Popen[bytes] | None = None
        self._master_err: list[str] = []
        self._lock = threading.Lock()

    # --- life-cycle ------------------------------------------------------------------------------

    @property
    def control_path(self) -> str:
        """The master's control socket (in a private local directory; %C keeps it short and unique)."""
        assert self._local_dir is not None
        return os.path.join(self._local_dir, "cm-%C")

    def _options(self) -> list[str]:
        return [
            *self._config,
            "-o",
            "BatchMode=yes",
            "-o",
            f"ControlPath={self.control_path}",
            "-o",
            f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o",
            f"ServerAliveInterval={ALIVE_INTERVAL_S}",
            "-o",
            f"ServerAliveCountMax={ALIVE_COUNT_MAX}",
        ]

    def open(self, timeout: float = OPEN_TIMEOUT_S) -> SshLink:
        """Log in once (the master) and make the host's private directory; RemoteError on any failure."""
        if self._master is not None:
            return self
        remove_stale_control_dirs()
        self._local_dir = tempfile.mkdtemp(prefix=f"{CONTROL_PREFIX}{os.getpid()}-")
        argv = [
            self._ssh,
            *self._options(),
            "-o",
            "ControlMaster=yes",
            "-o",
            "ControlPersist=no",
            "-T",
            self.host,
            "--",
            "python3 -c " + shlex.quote(_GUARD),  # the remote shell exits 127 when there is no python3
        ]
        try:
            # stdin stays open for the session: its EOF (our close, or our death) ends the guard.
            master = _start_ssh(argv)
        except RemoteError:
            self._cleanup_local()
            raise
        self._master = master
        assert master.stderr is not None and master.stdout is not None
        threading.Thread(target=self._collect_stderr, args=(master.stderr,), daemon=True).start()
        try:
            self.remote_dir = self._await_ready(master, timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _collect_stderr(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            with self._lock:
                if len(self._master_err) < 50:
                    self._master_err.append(raw.decode("utf-8", "replace"))

    def _await_ready(self, master: subprocess.Popen[bytes], timeout: float) -> str:
        assert master.stdout is not None
        found: list[str] = []

        def read() -> None:
            assert master.stdout is not None
            for raw in iter(master.stdout.readline, b""):
                found.append(raw.decode("utf-8", "replace").strip())
                if found[-1].startswith((READY, "gildash-old")):
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        last = found[-1] if found else ""
        if last.startswith(READY + " "):
            return last[len(READY) + 1 :]
        if reader.is_alive():
            raise RemoteError(f"cannot connect to {self.host}: no answer within {timeout:g} s")
        try:
            code = master.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        time.sleep(0.05)  # let the stderr reader take ssh's last words
        if last.startswith("gildash-old"):
            version = last.split()[-1]
            raise RemoteError(f"{self.host}: python3 is {version}; gildash needs Python >= 3.9 on the host")
        if code == MISSING_PYTHON:
            raise RemoteError(f"{self.host} has no python3 on its PATH (gildash needs Python >= 3.9 there)")
        with self._lock:
            err = "".join(self._master_err)
        raise RemoteError(explain(self.host, err, code))

    @property
    def alive(self) -> bool:
        """The master connection is still up."""
        return self._master is not None and self._master.poll() is None

    def close(self) -> None:
        """End the master (the guard removes the host's private directory) and the local control dir."""
        master, self._master = self._master, None
        if master is not None:
            with contextlib.suppress(OSError, ValueError):
                assert master.stdin is not None
                master.stdin.close()  # the guard's EOF: it removes the private directory and exits
            try:
                master.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    subprocess.run(
                        [self._ssh, *self._options(), "-O", "exit", self.host],
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        timeout=5,
                    )
                with contextlib.suppress(OSError):
                    os.killpg(master.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    master.wait(timeout=3)
                if master.poll() is None:
                    with contextlib.suppress(OSError):
                        os.killpg(master.pid, signal.SIGKILL)
                    master.wait()
            for stream in (master.stdout, master.stderr):
                with contextlib.suppress(OSError, ValueError):
                    if stream is not None:
                        stream.close()
        self._cleanup_local()

    def _cleanup_local(self) -> None:
        local, self._local_dir = self._local_dir, None
        if local is not None:
            shutil.rmtree(local, ignore_errors=True)

    def __enter__(self) -> SshLink:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- commands --------------------------------------------------------------------------------

    def argv(self, command: Sequence[str]) -> list[str]:
        """The local argv that runs `command` (words, quoted here for the remote shell) over the master."""
        if self._local_dir is None:
            raise RemoteError(f"the connection to {self.host} is closed")
        if not self.alive:
            # ssh would quietly open a second connection without its master: say the first one is lost.
            raise RemoteError(f"lost the connection to {self.host}")
        remote = " ".join(shlex.quote(word) for word in command)
        return [self._ssh, *self._options(), "-o", "ControlMaster=no", "-T", self.host, "--", remote]

    def popen(self, command: Sequence[str], *, stderr: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
        """Start command on the host, its stdin and stdout piped (closing stdin is its EOF); RemoteError when
        ssh cannot run."""
        return _start_ssh(self.argv(command), stderr)

    def run(
        self, command: Sequence[str], *, input: bytes = b"", timeout: float = 120.0
    ) -> subprocess.CompletedProcess[bytes]:
        """Run command on the host to completion; RemoteError when ssh itself fails or it times out.

        The command's own exit code (not 255) is the caller's to judge.
        """
        try:
            proc = subprocess.run(
                self.argv(command), input=input, capture_output=True, timeout=timeout, start_new_session=True
            )
        except subprocess.TimeoutExpired:
            raise RemoteError(f"{self.host}: {command[0]} did not finish within {timeout:g} s") from None
        except OSError as exc:
            raise RemoteError(f"cannot run ssh: {exc.strerror or exc}") from None
        if proc.returncode == 255:
            raise self.failure(proc.stderr.decode("utf-8", "replace"), 255)
        return proc

    def failure(self, stderr: str, returncode: int | None) -> RemoteError:
        """The RemoteError for a command whose ssh failed: a lost master reads as a lost connection."""
        if not self.alive:
            return RemoteError(f"lost the connection to {self.host}")
        return RemoteError(explain(self.host, stderr, returncode))
