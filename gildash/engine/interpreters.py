"""Discover and probe interpreters -> `Target`s (plus the Rust baseline).

Owns: the candidate executables (the current interpreter, the user's config, and engine.python_search's
PATH, pyenv, uv and provisioning cache), probing each in a subprocess (in parallel, cached per
realpath+mtime), dedupe, stable ids and ordering. Never imports textual; never runs a shell.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from gildash.engine import python_search
from gildash.engine.config import TargetEntry, load_config
from gildash.engine.model import Target

MIN_VERSION = (3, 9)
"""Oldest Python the workloads support."""

# Python-2-compatible on purpose, so an old interpreter can say what it is instead of a SyntaxError.
PROBE_SCRIPT = """\
import json, os, platform, sys
try:
    import sysconfig
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
except Exception:
    ft = False
g = getattr(sys, "_is_gil_enabled", None)
sys.stdout.write(json.dumps({
    "gildash_probe": 1,
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:3]),
    "implementation": platform.python_implementation().lower(),
    "free_threaded": ft,
    "gil_enabled": bool(g()) if g is not None else True,
    "executable": os.path.realpath(sys.executable or ""),
}))
"""


class TargetError(Exception):
    """A target id or path that cannot be used; the message is one line and lists the known ids."""


@dataclass(frozen=True)
class ProbeResult:
    """What an interpreter said about itself when probed."""

    executable: str
    """The path that was probed (as given, absolute)."""
    realpath: str
    """os.path.realpath(sys.executable) as seen by the interpreter itself (resolves pyenv shims)."""
    version: str
    """platform.python_version(), e.g. '3.13.5'."""
    version_info: tuple[int, int, int]
    """(major, minor, micro)."""
    implementation: str
    """cpython, pypy, ..."""
    free_threaded: bool
    """Py_GIL_DISABLED build."""
    gil_enabled: bool
    """GIL state at start-up under the probe's environment."""


_cache: dict[tuple[str, int, tuple[tuple[str, str], ...]], ProbeResult | str] = {}
_cache_lock = threading.Lock()


def probe(executable: str, *, env_extra: Mapping[str, str] = {}, timeout: float = 5.0) -> ProbeResult | str:
    """Run `executable -c <probe>`; the result, or a one-line reason it is not a usable Python (>= 3.9)."""
    exe = os.path.abspath(os.path.expanduser(executable))
    try:
        st = os.stat(exe)
    except OSError as exc:
        return f"{exe}: {exc.strerror or 'not found'}"
    if not os.path.isfile(exe):
        return f"{exe}: not a file"
    if not os.access(exe, os.X_OK):
        return f"{exe}: not executable"
    key = (os.path.realpath(exe), st.st_mtime_ns, tuple(sorted(env_extra.items())))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return replace(cached, executable=exe) if isinstance(cached, ProbeResult) else cached
    result = _probe_uncached(exe, env_extra, timeout)
    with _cache_lock:
        _cache[key] = result
    return result


def clear_probe_cache() -> None:
    """Forget cached probe results (tests; after provisioning a new interpreter)."""
    with _cache_lock:
        _cache.clear()


def _probe_uncached(exe: str, env_extra: Mapping[str, str], timeout: float) -> ProbeResult | str:
    ran = python_search.run_probe(exe, PROBE_SCRIPT, env_extra, timeout)
    return ran if isinstance(ran, str) else parse_probe(exe, *ran)


def parse_probe(exe: str, out: str, err: str, returncode: int | None) -> ProbeResult | str:
    """What the probe script printed, as a ProbeResult, or the one-line reason exe is not usable (pure)."""
    text = out.strip()
    try:
        data = json.loads(text.splitlines()[-1]) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("gildash_probe") != 1:
        first_err = next((ln.strip() for ln in err.splitlines() if ln.strip()), "")
        detail = f": {first_err[:120]}" if first_err else f" (exit code {returncode})"
        return f"{exe}: not a Python interpreter{detail}"
    try:
        info = data["version_info"]
        version_info = (int(info[0]), int(info[1]), int(info[2]))
        result = ProbeResult(
            executable=exe,
            realpath=str(data["executable"]) or exe,
            version=str(data["version"]),
            version_info=version_info,
            implementation=str(data["implementation"]),
            free_threaded=bool(data["free_threaded"]),
            gil_enabled=bool(data["gil_enabled"]),
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return f"{exe}: not a Python interpreter (unexpected probe output)"
    if version_info[:2] < MIN_VERSION:
        return f"{exe}: Python {result.version} is too old (gildash needs Python >= 3.9)"
    return result


# --- candidates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An executable worth probing and where it was found."""

    path: str
    """Absolute path of the executable (on the machine that probes it)."""
    source: str
    """current, PATH, pyenv, uv, cache, extra or config."""
    entry: TargetEntry | None = None
    """The user's config entry it comes from (its id, label and env win), else None."""


def _candidates(
    config_entries: Sequence[TargetEntry], extra_paths: Sequence[str], search_path: str
) -> list[Candidate]:
    out: list[Candidate] = [Candidate(sys.executable, "current")] if sys.executable else []
    out += [Candidate(path, source) for path, source in python_search.search(search_path)]
    out += [Candidate(os.path.abspath(p), "extra") for p in extra_paths]
    out += [Candidate(e.path, "config", e) for e in config_entries]
    return out


def _is_shim(path: str) -> bool:
    return os.sep + "shims" + os.sep in path


# --- targets -------------------------------------------------------------------------------------


def _base_id(res: ProbeResult) -> str:
    major, minor, _ = res.version_info
    prefix = "pypy" if res.implementation == "pypy" else "py"
    return f"{prefix}{major}.{minor}{'t' if res.free_threaded else ''}"


def _label(res: ProbeResult) -> str:
    name = {"cpython": "CPython", "pypy": "PyPy"}.get(res.implementation, res.implementation)
    return f"{name} {res.version}{' free-threaded' if res.free_threaded else ''}"


def _target_from_probe(res: ProbeResult, source: str, entry: TargetEntry | None = None) -> Target:
    env = entry.env if entry else ()
    gil = res.gil_enabled
    return Target(
        id=(entry.id if entry and entry.id else _base_id(res)),
        label=(entry.label if entry and entry.label else _label(res)),
        executable=res.executable,
        kind="python",
        version=res.version,
        implementation=res.implementation,
        free_threaded=res.free_threaded,
        gil_enabled=gil,
        env=env,
        source=source,
    )


def gil_twin(target: Target) -> Target:
    """The same free-threaded interpreter with the GIL forced back on (PYTHON_GIL=1)."""
    return replace(
        target,
        id=f"{target.id}+gil",
        label=f"{target.label} (GIL forced on)",
        gil_enabled=True,
        env=tuple(sorted({**dict(target.env), "PYTHON_GIL": "1"}.items())),
    )


def target_from_path(executable: str, *, timeout: float = 5.0) -> Target:
    """Probe one executable on the spot; raise TargetError with the reason when it is unusable."""
    res = probe(executable, timeout=timeout)
    if isinstance(res, str):
        raise TargetError(res)
    return _target_from_probe(res, "path")


def discover_targets(
    config_path: Path | None = None,
    *,
    include_rust: bool = True,
    extra_paths: Sequence[str] = (),
    search_path: str | None = None,
    build_rust: bool = True,
    timeout: float = 5.0,
) -> list[Target]:
    """Every usable interpreter (deduplicated, ordered) plus the Rust baseline; raises ConfigError."""
    config = load_config(config_path)
    path_env = os.environ.get("PATH", "") if search_path is None else search_path
    candidates = _candidates(config.targets, extra_paths, path_env)

    # Cheap first dedupe by the file's realpath (python3 -> python3.13 symlinks, repeated PATH dirs);
    # config entries stay separate because they carry their own id/label/env.
    unique: dict[object, Candidate] = {}
    for index, cand in enumerate(candidates):
        key: object = ("config", index) if cand.entry is not None else os.path.realpath(cand.path)
        unique.setdefault(key, cand)

    with ThreadPoolExecutor(max_workers=16) as pool:
        rust_future = pool.submit(_rust, build_rust) if include_rust else None
        futures = [
            (
                cand,
                pool.submit(
                    probe, cand.path, env_extra=dict(cand.entry.env) if cand.entry else {}, timeout=timeout
                ),
            )
            for cand in unique.values()
        ]
        probed = [(cand, fut.result()) for cand, fut in futures]
        rust = rust_future.result() if rust_future is not None else None
    return targets_from_probes(probed, rust)


def targets_from_probes(
    probed: Sequence[tuple[Candidate, ProbeResult | str]], rust: Target | None
) -> list[Target]:
    """Probed candidates (and the Rust row) -> deduplicated, ordered targets with unique ids (pure).

    The one ordering for this machine's discovery and a remote host's alike.
    """
    chosen: dict[object, tuple[Candidate, ProbeResult]] = {}
    unavailable: list[Target] = []
    for index, (cand, res) in enumerate(probed):
        if isinstance(res, str):
            if cand.entry is not None:  # the user asked for it by name: show why it is not there
                unavailable.append(_unavailable_config_target(cand.entry, res))
            continue
        # The same interpreter reached twice (pyenv shim vs its real binary, venv vs base) collapses.
        same: object = (
            ("config", index)
            if cand.entry is not None
            else (res.version, res.implementation, res.free_threaded)
        )
        kept = chosen.get(same)
        if kept is None or _preference(cand) < _preference(kept[0]):
            chosen[same] = (cand, res)

    ranked = []
    for cand, res in chosen.values():
        target = _target_from_probe(res, cand.source, cand.entry)
        # Current interpreter first among equal versions.
        major, minor, micro = res.version_info
        rank = (target.implementation != "cpython", major, minor, cand.source != "current", micro)
        ranked.append((rank, target))
    ranked.sort(key=lambda pair: pair[0])
    base = [t for _k, t in ranked]
    # Headline order for keys 1-9: the interpreter running gildash, each free-threaded build followed
    # by its +gil twin, the Rust baseline, then every other GIL interpreter (a talk's comparison first).
    current = [t for t in base if t.source == "current"]
    others = [t for t in base if t.source != "current" and not t.free_threaded]
    paired: list[Target] = []
    for t in base:
        if t.free_threaded and t.source != "current":
            paired.append(t)
            if t.gil_mode == "free-threaded":
                paired.append(gil_twin(t))
    native = [rust] if rust is not None else []
    return _unique_ids([*current, *paired, *native, *others, *unavailable])


def _preference(cand: Candidate) -> tuple[int, int, int]:
    # Lower is better: the current interpreter, real binaries over pyenv shims, python3.13t over python3.13.
    name_says_ft = os.path.basename(cand.path).endswith("t")
    return (0 if cand.source == "current" else 1, 1 if _is_shim(cand.path) else 0, 0 if name_says_ft else 1)


def _unavailable_config_target(entry: TargetEntry, reason: str) -> Target:
    return Target(
        id=entry.id or Path(entry.path).name,
        label=entry.label or entry.path,
        executable=entry.path,
        kind="python",
        env=entry.env,
        available=False,
        reason=reason,
        source="config",
    )


def _unique_ids(targets: Sequence[Target]) -> list[Target]:
    seen: dict[str, int] = {}
    out = []
    for t in targets:
        if t.id in seen:
            seen[t.id] += 1
            new_id = f"{t.id}-{seen[t.id]}"
            while new_id in seen:
                seen[t.id] += 1
                new_id = f"{t.id}-{seen[t.id]}"
            seen[new_id] = 1
            t = replace(t, id=new_id)
        else:
            seen[t.id] = 1
        out.append(t)
    return out


def _rust(build: bool) -> Target:
    try:
        from gildash.engine.rust_target import rust_target
    except ImportError:
        return _rust_unavailable("the Rust baseline is not part of this install")
    try:
        return rust_target(build=build)
    except Exception as exc:  # a broken toolchain must not break discovery
        return _rust_unavailable(f"cannot build the Rust baseline: {exc}")


def _rust_unavailable(reason: str) -> Target:
    """The Rust baseline's row when it cannot be offered, saying why."""
    return Target(
        id="rust",
        label="Rust std::thread baseline",
        executable="",
        kind="rust",
        implementation="rust",
        gil_enabled=False,
        available=False,
        reason=reason,
        source="cargo",
    )


def target_by_id(target_id: str, targets: Sequence[Target], *, where: str = "") -> Target | None:
    """The target with this id, None when no target has it; TargetError when it is unavailable.

    where: said after the id in that error (" on HOST" for a host's targets).
    """
    for t in targets:
        if t.id == target_id:
            if not t.available:
                raise TargetError(f"target {t.id!r}{where} is unavailable: {t.reason}")
            return t
    return None


def known_ids(targets: Sequence[Target]) -> str:
    """The available targets' ids for an 'unknown target' message ("none" when there is none)."""
    return ", ".join(t.id for t in targets if t.available) or "none"


def resolve_target(id_or_path: str, targets: Sequence[Target]) -> Target:
    """The target with this id, or a probed executable path/command name; TargetError otherwise."""
    target = target_by_id(id_or_path, targets)
    if target is not None:
        return target
    known = known_ids(targets)
    looks_like_path = os.sep in id_or_path or id_or_path.startswith("~")
    if looks_like_path:
        return target_from_path(id_or_path)
    found = shutil.which(id_or_path)
    if found and python_search.is_python_name(os.path.basename(found)):
        return target_from_path(found)
    raise TargetError(
        f"unknown target {id_or_path!r} (known: {known}; or give a path to a Python executable)"
    )
