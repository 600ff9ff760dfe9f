"""The Rust baseline target: finds, builds (cargo, offline) and probes the rust_cpu_bench binary.

Builds go to the cache (`<cache>/rust-target`), never into the checkout's target/ or site-packages; a
bundled or read-only source copy is mirrored into `<cache>/rust-src` first because cargo must write
Cargo.lock beside Cargo.toml. A file lock serialises concurrent builds. Never imports textual.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from gildash.engine import paths
from gildash.engine.model import Target

if sys.platform != "win32":
    import fcntl

BINARY_NAME = "rust_cpu_bench" + (".exe" if sys.platform == "win32" else "")
NO_CARGO_REASON = "cargo not found on PATH (install Rust to get the native baseline)"
_BUILD_TIMEOUT_S = 600.0
_REASON_MAX = 200


def _target_dir() -> Path:
    return paths.cache_dir() / "rust-target"


def binary_path() -> Path:
    """Where the release binary lands once built."""
    return _target_dir() / "release" / BINARY_NAME


def find_cargo() -> str | None:
    """cargo on PATH, else rustup's default location (often missing from PATH in non-login shells)."""
    found = shutil.which("cargo")
    if found:
        return found
    cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    candidate = cargo_home / "bin" / ("cargo.exe" if sys.platform == "win32" else "cargo")
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def _source_files(src: Path) -> list[Path]:
    """Every file whose change means a rebuild: the manifest, the lock file and all of src/."""
    files = [src / name for name in ("Cargo.toml", "Cargo.lock") if (src / name).is_file()]
    files.extend(p for p in sorted((src / "src").rglob("*")) if p.is_file())
    return files


def _is_fresh(binary: Path, src: Path) -> bool:
    """The binary exists and is at least as new as every source file."""
    try:
        built = binary.stat().st_mtime_ns
        return all(f.stat().st_mtime_ns <= built for f in _source_files(src))
    except OSError:
        return False


def _needs_mirror(src: Path) -> bool:
    # A wheel's bundled copy lives in gildash/_data/; building there would write into site-packages.
    return src.parent.name == "_data" or not os.access(src, os.W_OK)


def _mirror(src: Path, dest: Path) -> None:
    """Copy the Cargo project to dest, rewriting only changed files so cargo's mtimes stay meaningful."""
    wanted = {f.relative_to(src) for f in _source_files(src)}
    for rel in wanted:
        target = dest / rel
        data = (src / rel).read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
    if (dest / "src").is_dir():
        for stale in (dest / "src").rglob("*"):
            if stale.is_file() and stale.relative_to(dest) not in wanted:
                stale.unlink()


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """Hold an exclusive lock on <cache>/rust-target.lock (across processes and threads)."""
    lock_path = paths.cache_dir() / "rust-target.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        if sys.platform != "win32":
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if sys.platform != "win32":
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def failure_reason(stderr: str, returncode: int) -> str:
    """One line out of cargo's stderr: its first error, else its last line, else the exit code."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error")]
    detail = errors[0] if errors else (lines[-1] if lines else f"exit code {returncode}")
    reason = f"cargo build failed: {detail}"
    return reason if len(reason) <= _REASON_MAX else reason[: _REASON_MAX - 3] + "..."


def _run_cargo(cargo: str, manifest: Path) -> str | None:
    """Build the release binary; None on success, else a one-line reason."""
    argv = [cargo, "build", "--release", "--offline", "--quiet", "--manifest-path", str(manifest)]
    argv += ["--target-dir", str(_target_dir())]
    try:
        # Own session so a timeout can take cargo's rustc/linker children down with it.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=sys.platform != "win32",
        )
    except OSError as exc:
        return f"cannot run cargo: {exc}"
    try:
        _, stderr = proc.communicate(timeout=_BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        if sys.platform != "win32":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        return f"cargo build timed out after {_BUILD_TIMEOUT_S:.0f} s"
    return None if proc.returncode == 0 else failure_reason(stderr, proc.returncode)


def rust_binary(build: bool = True) -> tuple[Path | None, str]:
    """(path of an up-to-date rust_cpu_bench, "") or (None, one-line reason it is unavailable).

    With build=False cargo is never run: an existing binary is returned even if its sources are newer.
    """
    src = paths.rust_src_dir()
    binary = binary_path()
    if not (src / "Cargo.toml").is_file():
        if binary.is_file():
            return binary, ""
        return None, f"Rust sources not found at {src}"
    if _is_fresh(binary, src):
        return binary, ""
    if not build:
        if binary.is_file():
            return binary, ""
        return None, "the Rust baseline is not built yet (gildash builds it with cargo on first use)"
    cargo = find_cargo()
    if cargo is None:
        # A stale binary still computes the same workloads; better than no baseline at all.
        return (binary, "") if binary.is_file() else (None, NO_CARGO_REASON)
    with _build_lock():
        # Another process may have finished the same build while we waited for the lock.
        if _is_fresh(binary, src):
            return binary, ""
        build_src = src
        if _needs_mirror(src):
            build_src = paths.cache_dir() / "rust-src"
            try:
                _mirror(src, build_src)
            except OSError as exc:
                return None, f"cannot copy the Rust sources to {build_src}: {exc}"
        failure = _run_cargo(cargo, build_src / "Cargo.toml")
        if failure is not None:
            return None, failure
        if not binary.is_file():
            return None, f"cargo build succeeded but {binary} is missing"
        # cargo leaves the binary untouched when nothing changed; mark it fresh so we stop asking.
        with contextlib.suppress(OSError):
            os.utime(binary)
    return binary, ""


@lru_cache(maxsize=8)
def _probe_version(path: str, mtime_ns: int) -> str:
    """The rustc version baked into the binary (`--version` prints 'rust_cpu_bench X (rustc 1.95.0)')."""
    del mtime_ns  # part of the cache key only: a rebuilt binary is probed again
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, errors="replace", timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return version_from_output(out.stdout)


def version_from_output(text: str) -> str:
    """The rustc version in the binary's `--version` output ('' when it does not say) (pure)."""
    match = re.search(r"rustc ([^\s)]+)", text)
    return match.group(1) if match else ""


def rust_version(binary: Path) -> str:
    """rustc version the binary was built with, '' when it cannot be told."""
    try:
        mtime_ns = binary.stat().st_mtime_ns
    except OSError:
        return ""
    return _probe_version(str(binary), mtime_ns)


def rust_target(build: bool = True) -> Target:
    """The 'rust' Target, available when the binary exists or could be built (reason says why not)."""
    binary, reason = rust_binary(build=build)
    if binary is None:
        return make_rust_target(None, "", reason)
    return make_rust_target(str(binary), rust_version(binary), "")


def make_rust_target(executable: str | None, version: str, reason: str) -> Target:
    """The 'rust' Target for a built binary (executable) or, when None, unavailable for reason (pure)."""
    return Target(
        id="rust",
        label="Rust std::thread (native baseline)",
        executable=executable or "",
        kind="rust",
        version=version,
        implementation="rust",
        free_threaded=True,
        gil_enabled=False,
        available=executable is not None,
        reason=reason,
        source="cargo",
    )
