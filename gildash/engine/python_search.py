"""Where a machine's Python interpreters are, and the probe run that asks one of them what it is.

Candidates come from PATH, pyenv's versions, uv's installed pythons and gildash's provisioning cache, in
that order. Stdlib only but for gildash.engine.paths, and Python 3.9 syntax: the bundle copies this module
to hosts, where discovery runs it with the host's python3, so a host's interpreters are found and probed
exactly like this machine's. Never imports textual; never runs a shell.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from gildash.engine import paths

PY_NAME_PATTERN = r"^(python3(\.\d+t?)?|pypy3(\.\d+)?)$"
"""Executable names worth probing on PATH and in pyenv/cache bin dirs (not python3.11-config etc.)."""
_PY_NAME_RE = re.compile(PY_NAME_PATTERN)


def is_python_name(name: str) -> bool:
    """name is an interpreter's executable name (python3, python3.13t, pypy3.10 ...)."""
    return _PY_NAME_RE.match(name) is not None


def scan_dir(directory: str | Path) -> list[str]:
    """The executables in directory whose names look like interpreters, by name; [] when unreadable."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        if is_python_name(name):
            full = os.path.join(directory, name)
            if os.path.isfile(full) and os.access(full, os.X_OK):
                found.append(full)
    return found


def uv_pythons() -> list[str]:
    """The CPython and PyPy interpreters uv has installed; [] without uv or when it fails."""
    uv = shutil.which("uv")
    if uv is None:
        return []
    try:
        out = subprocess.run(
            [uv, "python", "list", "--output-format", "json", "--only-installed"],
            capture_output=True,
            timeout=5,
            stdin=subprocess.DEVNULL,
            check=True,
        ).stdout
        entries = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    found = []
    if isinstance(entries, list):
        for entry in entries:
            # `variant` tells free-threaded builds apart; the probe confirms it anyway.
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                if entry.get("implementation", "cpython") in ("cpython", "pypy"):
                    found.append(entry["path"])
    return found


def is_shim_dir(directory: str) -> bool:
    """directory is a pyenv shims directory."""
    return os.path.basename(os.path.normpath(directory)) == "shims"


def search(search_path: str) -> list[tuple[str, str]]:
    """(executable, source) of every candidate, source PATH, pyenv, uv or cache; repeats left in."""
    out: list[tuple[str, str]] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pyenv_scanned = (pyenv_root / "versions").is_dir()
    for directory in search_path.split(os.pathsep):
        # pyenv shims only dispatch to versions/*, scanned directly below; probing them costs a bash
        # and a pyenv per name, and most fail ("command not found" for non-global versions).
        if directory and not (pyenv_scanned and is_shim_dir(directory)):
            out += [(p, "PATH") for p in scan_dir(directory)]
    for version_dir in sorted((pyenv_root / "versions").glob("*")):
        out += [(p, "pyenv") for p in scan_dir(version_dir / "bin")]
    out += [(p, "uv") for p in uv_pythons()]
    for build_dir in sorted(paths.pythons_dir().glob("*")):
        out += [(p, "cache") for p in scan_dir(build_dir / "bin")]
    return out


def probe_env(env_extra: Mapping[str, str] = {}) -> dict[str, str]:
    """A minimal environment for probes: no PYTHON* from the user's shell, plus env_extra."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    # pyenv shims need to know where pyenv lives to dispatch.
    for key in ("PYENV_ROOT", "PYENV_VERSION"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(env_extra)
    return env


def run_probe(
    exe: str, script: str, env_extra: Mapping[str, str], timeout: float
) -> tuple[str, str, int | None] | str:
    """`exe -c script` in probe_env: its (stdout, stderr, exit code), or a one-line reason it did not run."""
    try:
        proc = subprocess.Popen(
            [exe, "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=probe_env(env_extra),
            cwd="/",  # a json.py in the cwd must not shadow the stdlib for the probe
            start_new_session=True,
        )
    except OSError as exc:
        return f"{exe}: cannot execute: {exc.strerror or exc}"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        return f"{exe}: probe timed out after {timeout:g} s"
    finally:
        _kill_group(proc.pid)  # a shim's helpers must not outlive the probe
    return out.decode("utf-8", errors="replace"), err.decode("utf-8", "replace"), proc.returncode


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
