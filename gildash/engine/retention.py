"""The size cap of the default recordings folder: oldest recordings pruned first, never one in use.

Every run is recorded by default and a flooding run writes tens of MB, so the folder gets a cap
(`[recordings] max_mb` in the config file, DEFAULT_MAX_MB when absent, 0 for no cap). A recording is in
use while a Recorder has it open: the Recorder holds a shared flock on it, and pruning skips any file it
cannot lock exclusively. Only `*.jsonl` regular files directly in the folder are considered. Never
imports textual.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gildash.engine import paths

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: nothing is locked, nothing counts as in use
    fcntl = None  # type: ignore[assignment]

DEFAULT_MAX_MB = 500
"""Cap of the default recordings folder when the config does not set one."""


def recordings_dir() -> Path:
    """The default recordings folder: data_dir()/recordings."""
    return paths.data_dir() / "recordings"


@dataclass(frozen=True)
class Pruned:
    """What one prune did."""

    removed: tuple[Path, ...]
    """Recordings deleted, oldest first."""
    freed_bytes: int
    """Bytes they held."""
    total_bytes: int
    """Bytes of recordings left in the folder."""
    over_cap: bool
    """Still over the cap (what is left is in use or kept)."""


def lock_shared(fd: int) -> None:
    """Mark an open recording as in use (released when the descriptor closes). Best effort."""
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)


def _in_use(path: Path) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return True  # cannot tell: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops our lock too
    return False


def prune(folder: Path, max_bytes: int, *, keep: Iterable[Path] = ()) -> Pruned:
    """Delete the oldest recordings (by modification time) until the folder holds at most max_bytes;
    never a file in keep, in use, or not a regular *.jsonl file. max_bytes <= 0: no cap."""
    kept = {Path(p).resolve() for p in keep}
    files: list[tuple[float, int, Path]] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return Pruned((), 0, 0, False)
    for entry in entries:
        if not entry.name.endswith(".jsonl"):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            files.append((st.st_mtime, st.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in files)
    if max_bytes <= 0 or total <= max_bytes:
        return Pruned((), 0, total, False)
    removed: list[Path] = []
    freed = 0
    for _mtime, size, path in sorted(files):
        if total <= max_bytes:
            break
        if path.resolve() in kept or _in_use(path):
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
        freed += size
        total -= size
    return Pruned(tuple(removed), freed, total, total > max_bytes)


def prune_default(max_mb: int | None, *, keep: Iterable[Path] = ()) -> Pruned:
    """prune() of the default recordings folder with the configured cap (None: DEFAULT_MAX_MB)."""
    cap = DEFAULT_MAX_MB if max_mb is None else max_mb
    return prune(recordings_dir(), cap * 1024 * 1024, keep=keep)


def prune_notes(pruned: Pruned, max_mb: int | None) -> list[str]:
    """What a prune of the default folder did, in lines for the user (none when it removed nothing and the
    folder is within its cap)."""
    cap = DEFAULT_MAX_MB if max_mb is None else max_mb
    mb = 1024 * 1024
    notes = []
    if pruned.removed:
        notes.append(
            f"removed {len(pruned.removed)} old recording(s) ({pruned.freed_bytes / mb:.1f} MB) from "
            f"{recordings_dir()}: it is capped at {cap} MB ([recordings] max_mb in the config, 0 for no cap)"
        )
    if pruned.over_cap:
        notes.append(
            f"warning: {recordings_dir()} holds {pruned.total_bytes / mb:.1f} MB, over its {cap} MB cap; "
            "what is left is in use by a running gildash"
        )
    return notes
