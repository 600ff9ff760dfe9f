"""Where gildash keeps things: cache, config, recordings, and the bundled workload/Rust sources.

Never imports textual; pure path logic plus mkdir.
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent
_REPO = _PKG.parent


def cache_dir() -> Path:
    """gildash's cache root: $GILDASH_CACHE_DIR, else $XDG_CACHE_HOME/gildash, else ~/.cache/gildash."""
    env = os.environ.get("GILDASH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gildash"


def pythons_dir() -> Path:
    """Where provisioned interpreters live (one folder per build, e.g. 3.13t)."""
    return cache_dir() / "pythons"


def config_dir() -> Path:
    """The user's config dir: $XDG_CONFIG_HOME/gildash or ~/.config/gildash (never the cwd)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "gildash"


def data_dir() -> Path:
    """Where recordings go by default: $XDG_DATA_HOME/gildash or ~/.local/share/gildash."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "gildash"


def workloads_dir() -> Path:
    """The stdlib workload scripts: the repo's workloads/ in a checkout, the bundled copy in a wheel."""
    bundled = _PKG / "_data" / "workloads"
    if bundled.is_dir():
        return bundled
    return _REPO / "workloads"


def rust_src_dir() -> Path:
    """The Cargo project of the Rust baseline (repo checkout or bundled copy)."""
    bundled = _PKG / "_data" / "rust_cpu_bench"
    if bundled.is_dir():
        return bundled
    return _REPO / "rust_cpu_bench"
