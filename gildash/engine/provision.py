"""Find or provide a free-threaded CPython: existing builds, uv, or a source build from Debian trixie.

Stdlib only (it runs before anything else is installed, via `python -m gildash.engine.provision`).
Never imports textual. Every interpreter it returns has been verified, not assumed: the probe must see
`Py_GIL_DISABLED == 1` and `sys._is_gil_enabled() is False`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from gildash.engine.paths import cache_dir, pythons_dir

BUILD_VERSION = "3.13"
BUILD_DIR_NAME = "3.13t"
# Written last, after verification: a folder without it is a half-finished build and is rebuilt.
MARKER = ".gildash-verified"
# Debian package names of the headers CPython needs for ssl, zlib, ctypes, bz2, sqlite3, lzma, readline.
BUILD_DEPS = (
    "build-essential",
    "pkg-config",
    "libssl-dev",
    "zlib1g-dev",
    "libffi-dev",
    "libbz2-dev",
    "libsqlite3-dev",
    "liblzma-dev",
    "libreadline-dev",
)
_PROBE = (
    "import sys, sysconfig, json;"
    "print(json.dumps({'ft': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
    "'gil': getattr(sys, '_is_gil_enabled', lambda: True)(),"
    "'version': '.'.join(map(str, sys.version_info[:3]))}))"
)


class ProvisionError(Exception):
    """Provisioning failed; the message says what was tried and what to install."""


def say(msg: str) -> None:
    """Progress for the person waiting (stderr, so stdout stays clean for the found path)."""
    print(f"[python-ft] {msg}", file=sys.stderr, flush=True)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_GIL", "PYTHONHOME", "PYTHONPATH")}
    env.update(extra)
    return env


def probe_free_threaded(exe: str | Path, *, gil: str | None = None) -> dict[str, object] | None:
    """Run `exe` and report {'ft', 'gil', 'version'}; None when it does not run as Python 3."""
    env = _clean_env(**({"PYTHON_GIL": gil} if gil is not None else {}))
    try:
        out = subprocess.run(
            [str(exe), "-c", _PROBE], capture_output=True, text=True, timeout=10, env=env, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return data if isinstance(data, dict) else None


def is_free_threaded(exe: str | Path) -> bool:
    """True when exe is a free-threaded build running with the GIL disabled."""
    info = probe_free_threaded(exe)
    return bool(info and info.get("ft") is True and info.get("gil") is False)


def _candidates() -> Iterator[Path]:
    """Places a free-threaded CPython may already be, in the order the issue asks for."""
    for name in ("python3.14t", "python3.13t"):
        found = shutil.which(name)
        if found:
            yield Path(found)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for exe in sorted(glob.glob(str(pyenv_root / "versions" / "*t" / "bin" / "python3*t")), reverse=True):
        yield Path(exe)
    uv = shutil.which("uv")
    if uv:
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
            out = subprocess.run(
                [uv, "python", "list", "--only-installed", "--output-format", "json"],
                capture_output=True,
                text=True,
                timeout=15,
                check=False,
            )
            for entry in json.loads(out.stdout or "[]"):
                if isinstance(entry, dict) and entry.get("variant") == "freethreaded" and entry.get("path"):
                    yield Path(str(entry["path"]))
    for folder in sorted(pythons_dir().glob("*t"), reverse=True):
        if (folder / MARKER).exists():
            yield from sorted(folder.glob("bin/python3.*t"))


def find_free_threaded() -> Path | None:
    """The first verified free-threaded CPython already on this machine, or None."""
    seen: set[str] = set()
    for exe in _candidates():
        real = os.path.realpath(exe)
        if real in seen or not os.access(real, os.X_OK):
            continue
        seen.add(real)
        if is_free_threaded(exe):
            return exe
    return None


def _try_uv() -> Path | None:
    uv = shutil.which("uv")
    if not uv:
        return None
    say("trying `uv python install 3.14t` ...")
    try:
        subprocess.run([uv, "python", "install", "3.14t"], timeout=600, check=True)
        out = subprocess.run(
            [uv, "python", "find", "3.14t"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"uv could not provide 3.14t ({exc.__class__.__name__}); falling back to a source build")
        return None
    exe = Path(out.stdout.strip())
    return exe if is_free_threaded(exe) else None


def debian_mirror(sources_root: Path = Path("/etc/apt")) -> str | None:
    """The Debian archive URI this machine's apt already uses (read, never hard-coded)."""
    texts: list[str] = []
    for path in [sources_root / "sources.list", *sorted((sources_root / "sources.list.d").glob("*"))]:
        if path.is_file() and (path.suffix in (".list", ".sources") or path.name == "sources.list"):
            with contextlib.suppress(OSError):
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    uris: list[str] = []
    for text in texts:
        uris += re.findall(r"^\s*URIs:\s*(\S+)", text, flags=re.M)
        uris += re.findall(r"^\s*deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)", text, flags=re.M)
    for uri in uris:
        # The main archive, not the security one nor a third-party repo.
        if re.search(r"/debian/?$", uri):
            return uri.rstrip("/")
    return None


def _run(cmd: Sequence[str], *, cwd: Path | None = None, log: Path | None = None) -> None:
    if log is None:
        subprocess.run(list(cmd), cwd=cwd, check=True)
        return
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(list(cmd), cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise ProvisionError(
            f"`{' '.join(cmd[:3])} ...` failed (exit {proc.returncode}); log {log}:\n" + "\n".join(tail)
        )


def _missing_build_deps() -> list[str]:
    missing = []
    for pkg in BUILD_DEPS:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    return missing


def _install_build_deps(log: Path) -> None:
    if not shutil.which("dpkg-query"):
        return
    missing = _missing_build_deps()
    if not missing:
        return
    if os.geteuid() != 0:
        raise ProvisionError(
            f"missing build dependencies, install them first: sudo apt-get install {' '.join(missing)}"
        )
    say(f"installing build dependencies: {' '.join(missing)}")
    _run(["apt-get", "update", "-qq"], log=log)
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", *missing]
    _run(env_cmd, log=log)


def _fetch_trixie_source(work: Path, log: Path) -> Path:
    """Download python3.13's Debian source with a private apt state; return the upstream tarball."""
    mirror = debian_mirror()
    if mirror is None:
        raise ProvisionError("no Debian mirror found in /etc/apt sources; cannot fetch the python3.13 source")
    if not shutil.which("apt-get"):
        raise ProvisionError("apt-get not found: this fallback needs Debian/Ubuntu")
    apt = work / "apt"
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "parts").mkdir(exist_ok=True)
    (apt / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    src_list = apt / "sources.list"
    # trusted=yes is not used: the release is verified with the machine's Debian archive keyring.
    src_list.write_text(f"deb-src {mirror} trixie main\n", encoding="utf-8")
    opts = [
        f"-oDir::State::Lists={apt / 'lists'}",
        f"-oDir::Etc::SourceList={src_list}",
        f"-oDir::Etc::SourceParts={apt / 'parts'}",
        f"-oDir::Cache::Archives={apt / 'archives'}",
        "-oDir::Cache::pkgcache=",
        "-oDir::Cache::srcpkgcache=",
        "-oAPT::Sandbox::User=root",
    ]
    say("fetching Debian trixie's python3.13 source package (private apt state; system apt untouched) ...")
    _run(["apt-get", *opts, "update", "-qq"], log=log)
    dl = work / "src"
    dl.mkdir(exist_ok=True)
    _run(["apt-get", *opts, "source", "--download-only", "-qq", "python3.13"], cwd=dl, log=log)
    tarballs = sorted(p for p in dl.glob("python3.13_*.orig.tar.*") if p.suffix != ".asc")
    if not tarballs:
        raise ProvisionError(f"apt-get source gave no python3.13 orig tarball in {dl}")
    return tarballs[-1]


def build_from_debian_source(dest: Path) -> Path:
    """Build CPython 3.13 --disable-gil into dest (the cache); return the verified python3.13t."""
    work = cache_dir() / "build"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    log = work / "build.log"
    _install_build_deps(log)
    tarball = _fetch_trixie_source(work, log)
    say(f"unpacking {tarball.name}")
    with tarfile.open(tarball) as tf:
        tf.extractall(work / "tree", filter="data")
    trees = [p for p in (work / "tree").iterdir() if (p / "configure").exists()]
    if not trees:
        raise ProvisionError("the python3.13 source tarball has no configure script")
    tree = trees[0]
    if dest.exists():
        shutil.rmtree(dest)
    jobs = str(os.cpu_count() or 2)
    t0 = time.monotonic()
    say(f"configuring (--disable-gil --prefix={dest}); the build takes about 3 minutes on 2 cores")
    say(f"build log: {log}")
    _run(["./configure", "--disable-gil", f"--prefix={dest}", "--without-ensurepip"], cwd=tree, log=log)
    say(f"compiling with {jobs} jobs ...")
    _run(["make", f"-j{jobs}"], cwd=tree, log=log)
    say("installing (make altinstall) ...")
    _run(["make", "altinstall"], cwd=tree, log=log)
    exe = dest / "bin" / "python3.13t"
    if not is_free_threaded(exe):
        raise ProvisionError(f"built {exe} but it does not report a disabled GIL; see {log}")
    (dest / MARKER).write_text(
        json.dumps({"built": time.time(), "seconds": time.monotonic() - t0}), encoding="utf-8"
    )
    shutil.rmtree(work, ignore_errors=True)
    say(f"built in {time.monotonic() - t0:.0f} s: {exe}")
    return exe


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    pythons_dir().mkdir(parents=True, exist_ok=True)
    with (pythons_dir() / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_free_threaded(*, allow_build: bool = True) -> Path:
    """Return a verified free-threaded CPython, provisioning one if needed (idempotent, cached)."""
    found = find_free_threaded()
    if found:
        return found
    with _lock():
        found = find_free_threaded()  # another process may have finished while we waited
        if found:
            return found
        tried = ["python3.14t/python3.13t on PATH, pyenv *t versions, uv-managed, the cache"]
        exe = _try_uv()
        if exe:
            return exe
        tried.append("uv python install 3.14t" if shutil.which("uv") else "uv (not installed)")
        if not allow_build:
            raise ProvisionError("no free-threaded CPython found; tried: " + "; ".join(tried))
        try:
            return build_from_debian_source(pythons_dir() / BUILD_DIR_NAME)
        except (ProvisionError, OSError, subprocess.SubprocessError, tarfile.TarError) as exc:
            tried.append("a source build from Debian trixie's python3.13")
            raise ProvisionError(
                "could not provide a free-threaded CPython. Tried: "
                + "; ".join(tried)
                + f".\nLast error: {exc}\nInstall one yourself (uv python install 3.14t, "
                "pyenv install 3.13t, or deadsnakes' python3.14-nogil) and rerun."
            ) from exc


def main(argv: Sequence[str] | None = None) -> int:
    """`gildash python-ft` / `python -m gildash.engine.provision`: print the verified interpreter path."""
    parser = argparse.ArgumentParser(
        prog="gildash python-ft", description="Find or build a free-threaded CPython (cached)."
    )
    parser.add_argument("--no-build", action="store_true", help="only look for an existing one")
    args = parser.parse_args(argv)
    try:
        exe = ensure_free_threaded(allow_build=not args.no_build)
    except ProvisionError as exc:
        print(f"gildash: error: {exc}", file=sys.stderr)
        return 1
    info = probe_free_threaded(exe) or {}
    say(f"free-threaded CPython {info.get('version', '?')}: {exe}")
    print(exe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
