"""What gildash copies to a host once per session: the stdlib workloads, the host agent, the Rust baseline's
sources and the provisioner, as one tar sent over the link and sha256-checked on the host.

The files land in the link's private directory (made by its guard with mkdtemp, removed when the session
ends or gildash dies), so nothing of a session outlives it on the host. Never imports textual.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path

from gildash.engine import paths
from gildash.engine.agent_stream import AGENT_SOURCE
from gildash.engine.remote.ssh import RemoteError, SshLink

UPLOAD_TIMEOUT_S = 120.0

# Runs on the host: check the tar's sha256, refuse any member outside the directory, unpack.
_UNPACK = (
    "import hashlib,io,os,sys,tarfile\n"
    "dest, want = sys.argv[1], sys.argv[2]\n"
    "data = sys.stdin.buffer.read()\n"
    "got = hashlib.sha256(data).hexdigest()\n"
    "if got != want:\n"
    "    sys.stdout.write('checksum mismatch: got %s\\n' % got); sys.exit(3)\n"
    "with tarfile.open(fileobj=io.BytesIO(data)) as tar:\n"
    "    for m in tar.getmembers():\n"
    "        if m.name.startswith('/') or '..' in m.name.split('/') or not (m.isfile() or m.isdir()):\n"
    "            sys.stdout.write('refused member %s\\n' % m.name); sys.exit(3)\n"
    "    tar.extractall(dest)\n"
    "sys.stdout.write('ok\\n')\n"
)


AGENT_FILE = "hostagent.py"
"""The host agent, at the bundle's top."""
WORKLOADS_DIR = "workloads"
"""The stdlib workload scripts."""
RUST_DIR = "rust_cpu_bench"
"""The Rust baseline's Cargo project (its manifest, lock file and src/)."""
PY_DIR = "py"
"""The importable root of the bundled provisioner (gildash/engine/ below it)."""


class _BelowRoot:
    """A path of the bundle on the host: one of the names above, joined to the bundle's root."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, bundle: Bundle, owner: type[Bundle] | None = None) -> str:
        return posixpath.join(bundle.root, self.name)


@dataclass(frozen=True)
class Bundle:
    """Where the session's copy of gildash's host-side files is on the host."""

    root: str
    """The private directory on the host holding everything below."""
    sha256: str
    """Checksum of the tar that was sent (checked on the host before unpacking)."""

    workloads = _BelowRoot(WORKLOADS_DIR)
    """The workload scripts' directory on the host."""
    agent = _BelowRoot(AGENT_FILE)
    """hostagent.py on the host."""
    rust_src = _BelowRoot(RUST_DIR)
    """The Rust baseline's Cargo project on the host."""
    pythonpath = _BelowRoot(PY_DIR)
    """Put on PYTHONPATH to import the bundled provisioner (gildash.engine.provision)."""


def agent_source() -> Path:
    """gildash/hostagent.py of this install; RemoteError when it is missing."""
    path = AGENT_SOURCE
    if not path.is_file():
        raise RemoteError("the host agent (gildash/hostagent.py) is missing from this install")
    return path


def _files() -> list[tuple[str, bytes]]:
    """(name in the tar, contents) of everything the host needs, in a stable order."""
    out: list[tuple[str, bytes]] = [(AGENT_FILE, agent_source().read_bytes())]
    for script in sorted(paths.workloads_dir().glob("*.py")):
        out.append((f"{WORKLOADS_DIR}/{script.name}", script.read_bytes()))
    rust = paths.rust_src_dir()
    for name in ("Cargo.toml", "Cargo.lock"):
        if (rust / name).is_file():
            out.append((f"{RUST_DIR}/{name}", (rust / name).read_bytes()))
    if (rust / "src").is_dir():
        for src in sorted(p for p in (rust / "src").rglob("*") if p.is_file()):
            out.append((f"{RUST_DIR}/{src.relative_to(rust).as_posix()}", src.read_bytes()))
    engine = Path(__file__).resolve().parent.parent
    # The provisioner and the interpreter search are stdlib-only but for gildash.engine.paths: all three
    # go, under empty packages.
    out += [(f"{PY_DIR}/gildash/__init__.py", b""), (f"{PY_DIR}/gildash/engine/__init__.py", b"")]
    for name in ("paths.py", "provision.py", "python_search.py"):
        out.append((f"{PY_DIR}/gildash/engine/{name}", (engine / name).read_bytes()))
    return out


def build_tar() -> tuple[bytes, str]:
    """The bundle as gzip'd tar bytes and their sha256 (deterministic: fixed times and owners)."""
    buf = io.BytesIO()
    # gzip's own header carries a time too: fixed at 0, or the bytes change every second.
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, data in _files():  # tarfile makes the parent directories on the host
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def upload(link: SshLink) -> Bundle:
    """Copy the bundle into the link's private directory; RemoteError on any failure."""
    if link.remote_dir is None:
        raise RemoteError(f"the connection to {link.host} is not open")
    try:
        data, digest = build_tar()
    except OSError as exc:
        raise RemoteError(f"cannot read gildash's files to copy to {link.host}: {exc}") from None
    proc = link.run(["python3", "-c", _UNPACK, link.remote_dir, digest], input=data, timeout=UPLOAD_TIMEOUT_S)
    said = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or said != "ok":
        detail = said or proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
        raise RemoteError(f"copying gildash's files to {link.host} failed: {' '.join(detail.split())[:160]}")
    return Bundle(root=link.remote_dir, sha256=digest)
