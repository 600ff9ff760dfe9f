"""The user's gildash config: `paths.config_dir()/config.toml` or an explicit --config path.

Never read from the current directory (a repo you cd into must not change what gildash executes).
Owns parsing and validation only; never imports textual.

    [[targets]]
    id = "py3.14t"                    # optional; derived from the probe when absent
    path = "/opt/py314t/bin/python3"  # required: interpreter to probe
    label = "CPython 3.14 nightly"    # optional
    env = { PYTHON_GIL = "0" }        # optional extra environment

    [recordings]
    max_mb = 500                      # size cap of the default recordings folder; 0: no cap
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gildash.engine import paths
from gildash.engine.safeopen import open_regular, reason

MAX_CONFIG_BYTES = 1 << 20
"""A config file larger than this is refused unread (it is a list of interpreters, not data)."""


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file (and line when known)."""


@dataclass(frozen=True)
class TargetEntry:
    """One [[targets]] table of the config."""

    path: str
    """Executable to probe (~ expanded)."""
    id: str = ""
    """Requested target id ('' to derive one)."""
    label: str = ""
    """Requested label ('' to derive one)."""
    env: tuple[tuple[str, str], ...] = ()
    """Extra environment for this target."""
    line: int = 0
    """Line of the [[targets]] header in the file (0 when unknown)."""


@dataclass(frozen=True)
class Config:
    """Everything gildash reads from its config file."""

    targets: tuple[TargetEntry, ...] = ()
    """Extra interpreters from [[targets]]."""
    recordings_max_mb: int | None = None
    """[recordings] max_mb: size cap of the default recordings folder (None: the default, 0: no cap)."""
    path: Path | None = None
    """The file read (None when none existed)."""


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$")


def default_config_path() -> Path:
    """Where gildash looks when no --config is given."""
    return paths.config_dir() / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config; a missing default file is an empty config, a broken one ConfigError."""
    explicit = path is not None
    file = Path(path).expanduser() if path is not None else default_config_path()
    try:
        # Never blocks: a FIFO or device is refused before it is opened for reading.
        fd = open_regular(file, os.O_RDONLY)
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{file}: no such config file") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {reason(exc)}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file}: too large for a config file (over {MAX_CONFIG_BYTES // 1024} KiB)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: cannot read: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends with "(at line L, column C)".
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{file}: invalid TOML: arrays or tables nested too deeply") from None
    header_lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == "[[targets]]"]
    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list):
        raise ConfigError(f"{file}: 'targets' must be an array of tables ([[targets]])")
    entries = []
    for index, raw in enumerate(raw_targets):
        line = header_lines[index] if index < len(header_lines) else 0
        where = f"{file}:{line}" if line else f"{file}: targets[{index}]"
        entries.append(_entry(raw, where, line))
    return Config(targets=tuple(entries), path=file, recordings_max_mb=_recordings_cap(data, file))


def _recordings_cap(data: dict[str, object], file: Path) -> int | None:
    table = data.get("recordings")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [recordings] must be a table")
    unknown = set(table) - {"max_mb"}
    if unknown:
        raise ConfigError(
            f"{file}: [recordings]: unknown key(s) {', '.join(sorted(unknown))} (allowed: max_mb)"
        )
    cap = table.get("max_mb")
    if cap is None:
        return None
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        raise ConfigError(f"{file}: [recordings] max_mb must be a whole number of MB, 0 for no cap")
    return cap


def _entry(raw: object, where: str, line: int) -> TargetEntry:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each [[targets]] entry must be a table")
    unknown = set(raw) - {"path", "id", "label", "env"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: path, id, label, env)"
        )
    path = raw.get("path")
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"{where}: 'path' (the interpreter to run) is required and must be a string")
    target_id = raw.get("id", "")
    if not isinstance(target_id, str) or (target_id and not _ID_RE.match(target_id)):
        raise ConfigError(f"{where}: 'id' must be a short string of letters, digits, '.', '_', '+', '-'")
    label = raw.get("label", "")
    if not isinstance(label, str):
        raise ConfigError(f"{where}: 'label' must be a string")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ConfigError(f"{where}: 'env' must be a table of string values")
    for key, value in env.items():
        # The OS cannot carry these: caught here, with the file and key, not as a crash at spawn time.
        if not key or "=" in key or "\0" in key:
            raise ConfigError(f"{where}: env key {key!r} is not a valid variable name (empty, '=' or NUL)")
        if "\0" in value:
            raise ConfigError(f"{where}: env value of {key!r} contains a NUL character")
    return TargetEntry(
        path=str(Path(path).expanduser()),
        id=target_id,
        label=label,
        env=tuple(sorted(env.items())),
        line=line,
    )
