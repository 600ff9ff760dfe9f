"""The user's gildash config: `paths.config_dir()/config.toml` or an explicit --config path.

Never read from the current directory (a repo you cd into must not change what gildash executes).
Owns parsing and validation only; never imports textual.

    hosts = ["bigbox", "me@other"]    # top-level (before any table): ssh hosts the dashboard's `m` offers

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
    hosts: tuple[str, ...] = ()
    """Top-level `hosts`: ssh destinations ([user@]HOST or an alias) the dashboard offers besides this one."""


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
    import tomllib  # lazy: with no config file (the usual case) nothing at start-up parses TOML

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
    return Config(
        targets=tuple(entries),
        path=file,
        recordings_max_mb=_recordings_cap(data, file),
        hosts=_hosts(data, text, file),
    )


def _hosts(data: dict[str, object], text: str, file: Path) -> tuple[str, ...]:
    raw = data.get("hosts")
    if raw is None:
        return ()
    lines = text.splitlines()
    key_line = next((i for i, line in enumerate(lines) if _HOSTS_KEY_RE.match(line)), None)
    where = f"{file}:{key_line + 1}" if key_line is not None else f"{file}: hosts"
    if not isinstance(raw, list):
        raise ConfigError(f'{where}: hosts must be an array of ssh destinations, e.g. ["bigbox", "me@other"]')
    hosts: list[str] = []
    for index, host in enumerate(raw):
        if not isinstance(host, str) or not _is_destination(host):
            at = _entry_line(lines, key_line, host)
            spot = f"{file}:{at}" if at else str(file)
            # A leading '-' would reach ssh as an option; whitespace or control characters as other words.
            raise ConfigError(
                f"{spot}: hosts[{index}] = {host!r} is not an ssh destination "
                "([user@]HOST or an ssh_config alias: no spaces or control characters, no leading '-')"
            )
        if host not in hosts:
            hosts.append(host)
    return tuple(hosts)


_HOSTS_KEY_RE = re.compile(r"""^\s*(hosts|"hosts"|'hosts')\s*=""")


def _is_destination(host: str) -> bool:
    """[user@]HOST or an alias as ssh takes it as one argument: never an option, never two words."""
    return (
        0 < len(host) <= 255
        and not host.startswith("-")
        and not any(c.isspace() or not c.isprintable() for c in host)
    )


def _entry_line(lines: list[str], key_line: int | None, value: object) -> int:
    """The 1-based line of a hosts entry: the first line from the key to the next table header that holds
    the string, else the key's line (0 when the key's line is unknown)."""
    if key_line is None:
        return 0
    if isinstance(value, str) and value:
        for i in range(key_line, len(lines)):
            if i > key_line and lines[i].lstrip().startswith("["):
                break
            if value in lines[i]:
                return i + 1
    return key_line + 1


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
