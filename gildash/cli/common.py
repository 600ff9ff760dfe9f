"""What every gildash command shares: exit codes, the one error printer, UsageError and the wrapper that
maps it, recording paths, the live progress line, config loading, target resolution and --host sessions.

Commands raise UsageError for user mistakes; `command()` (and main, as the last line) turns it into one
line `gildash: error: ...` and exit 2. Imports stay light (engine modules inside the functions) so
`gildash --help` is instant; never imports textual.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from gildash.engine.config import Config
    from gildash.engine.model import Target
    from gildash.engine.recording import Recorder
    from gildash.engine.remote.host import RemoteHost

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A user mistake: printed as one line, exit 2."""


def one_line(text: str) -> str:
    """Whitespace folded to single spaces, at most 300 characters: a message never spans lines."""
    return " ".join(text.split())[:300]


def note(message: str) -> None:
    """One `gildash: ...` line on stderr (recording paths, skipped lines, warnings)."""
    print(f"gildash: {one_line(message)}", file=sys.stderr)


def error(message: str) -> None:
    """The one error printer: `gildash: error: <one line>` on stderr."""
    note(f"error: {message}")


def add_config(parser: argparse.ArgumentParser) -> None:
    """The command's own --config PATH (it overrides the one given before the command)."""
    parser.add_argument(
        "--config", metavar="PATH", type=Path, default=argparse.SUPPRESS, help="targets config file (TOML)"
    )


def command(handler: Handler) -> Handler:
    """The handler with its UsageError printed as one line and mapped to exit 2."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except UsageError as exc:
            error(str(exc))
            return EXIT_USAGE

    return run


def tolerant_streams() -> None:
    """Never die on '×' or '—' when stdout/stderr use a narrow encoding (LANG=C pipes): replace instead."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in text)[:60] or "run"


def recording_path(*words: str) -> Path:
    """data_dir()/recordings/<timestamp>-<word>-<word>....jsonl, each word made safe for a file name."""
    from gildash.engine.paths import data_dir

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return data_dir() / "recordings" / ("-".join([stamp, *(_safe_name(w) for w in words)]) + ".jsonl")


def prune_recordings(config: Path | None, keep: Sequence[Path] = ()) -> None:
    """Hold the default recordings folder to its cap (`[recordings] max_mb`) before a new recording goes
    into it: the oldest recordings not in use and not in keep go first, each removal said in one line."""
    from gildash.engine.config import ConfigError, load_config

    try:
        cap = load_config(config).recordings_max_mb
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    prune_to(cap, keep)


def prune_to(cap: int | None, keep: Sequence[Path] = ()) -> None:
    """prune_recordings with the cap already read (`[recordings] max_mb`; None: the default)."""
    from gildash.engine import retention

    try:
        pruned = retention.prune_default(cap, keep=keep)
    except OSError as exc:  # the cap is housekeeping: never worth the run
        note(f"warning: cannot check the size of {retention.recordings_dir()}: {exc}")
        return
    for line in retention.prune_notes(pruned, cap):
        note(line)


def open_recorder(path: Path, *, asked: bool) -> Recorder | None:
    """A Recorder appending to path. When the user asked for this path a refusal is a UsageError; a
    default path that cannot be written only costs the recording (a warning, None)."""
    # Imported by its full name: tests stand a fake module in for gildash.engine.recording.
    from gildash.engine.recording import Recorder

    try:
        return Recorder(path)
    except Exception as exc:  # RecordingError, or any OSError of the folder: one line either way
        if asked:
            raise UsageError(str(exc)) from None
        note(f"warning: not recording: {exc}")
        return None


class ProgressLine:
    """One self-overwriting status line on a terminal stream; silent when the stream is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()

    def show(self, text: str) -> None:
        """Replace the line with text."""
        if self.live:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()

    def clear(self) -> None:
        """Erase the line."""
        self.show("")


def check_config(config: Path | None) -> Config:
    """Read the targets config now so a broken one is one line before anything starts; returns it."""
    from gildash.engine.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def check_workload(name: str) -> None:
    """Reject an unknown workload name up front instead of failing every run."""
    from gildash.engine.catalog import WORKLOADS

    if name not in WORKLOADS:
        raise UsageError(f"unknown workload {name!r} (choose from: {', '.join(WORKLOADS)})")


def discover(config: Path | None, *, include_rust: bool) -> list[Target]:
    """Every target gildash knows here; a broken config or probe is a UsageError."""
    from gildash.engine import interpreters
    from gildash.engine.config import ConfigError

    try:
        return interpreters.discover_targets(config, include_rust=include_rust)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:  # a failing probe must be one line, never a traceback
        raise UsageError(f"cannot discover targets: {exc}") from None


def _names_rust(name: str) -> bool:
    # Building the Rust baseline costs seconds: discover it only when the user may be naming it.
    return name.strip().lower().startswith("rust")


def resolve(name: str, targets: Sequence[Target]) -> Target:
    """The available target with this id, or a probed interpreter path / command name."""
    from gildash.engine import interpreters

    try:
        target = interpreters.resolve_target(name, targets)
    except interpreters.TargetError as exc:
        raise UsageError(str(exc)) from None
    if not target.available:
        raise UsageError(f"target {target.id} is unavailable: {target.reason or 'no reason given'}")
    return target


def pick_target(name: str | None, config: Path | None) -> Target:
    """One target: the named one, else the interpreter running gildash, else the first usable Python."""
    if name is not None:
        return resolve(name, discover(config, include_rust=_names_rust(name)))
    python = [t for t in discover(config, include_rust=False) if t.available and t.kind == "python"]
    for t in python:
        if t.source == "current":
            return t
    if python:
        return python[0]
    raise UsageError("no usable Python interpreter found; see `gildash targets`")


def _rust_wanted(names: Sequence[str] | None) -> bool:
    return names is None or any(_names_rust(n) for n in names)


def _pick_many(
    found: list[Target], names: Sequence[str] | None, pick: Callable[[str], Target], none_found: str
) -> list[Target]:
    """pick(name) for each name in order without repeats, else every available target of found."""
    if names is None:
        chosen = [t for t in found if t.available]
        if not chosen:
            raise UsageError(none_found)
        return chosen
    picked: dict[str, Target] = {}
    for name in names:
        target = pick(name)
        picked.setdefault(target.id, target)
    return list(picked.values())


def pick_targets(names: Sequence[str] | None, config: Path | None) -> list[Target]:
    """The named targets in order without repeats, else every available one (Rust included)."""
    found = discover(config, include_rust=_rust_wanted(names))
    return _pick_many(
        found, names, lambda name: resolve(name, found), "no available targets found; see `gildash targets`"
    )


def dashboard_entry(name: str) -> Callable[..., Any]:
    """An entry point of gildash.ui.app; the dashboard missing (textual not installed) is a UsageError."""
    try:
        from gildash.ui import app
    except ImportError as exc:
        raise UsageError(f"the dashboard is unavailable ({exc})") from None
    entry: Callable[..., Any] = getattr(app, name)
    return entry


def add_run_options(p: argparse.ArgumentParser, switch_help: str) -> None:
    """--executor, --timeout and --switch-interval, as run and sweep take them."""
    from gildash.cli import argtypes

    p.add_argument("--executor", choices=("thread", "process"), default="thread", help="default: thread")
    p.add_argument(
        "--timeout", type=argtypes.seconds, default=None, metavar="S", help="stop a run after S seconds"
    )
    p.add_argument(
        "--switch-interval", type=argtypes.switch_interval, default=None, metavar="SECONDS", help=switch_help
    )


def add_host(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--host [user@]HOST: run on that machine over ssh instead of this one. The top-level parser's holds
    the default (None); a command's own only overrides it when given, so `gildash --host H run` works."""
    p.add_argument(
        "--host",
        metavar="[USER@]HOST",
        default=None if top else argparse.SUPPRESS,
        help="run on this host over ssh (an ssh_config alias works; see docs/remote.md)",
    )


def host_of(args: argparse.Namespace) -> str | None:
    """The --host the command was given (None: this machine)."""
    host = getattr(args, "host", None)
    return host if isinstance(host, str) else None


@contextlib.contextmanager
def remote_host(host: str) -> Iterator[RemoteHost]:
    """An open session on host for the with-block, closed after it; any remote failure is a UsageError
    (one line, exit 2) and leaves nothing running on the host."""
    from gildash.engine.remote.host import RemoteHost
    from gildash.engine.remote.ssh import RemoteError

    progress = ProgressLine(sys.stderr)  # on a terminal only: a failure stays one line
    progress.show(f"connecting to {host} …")
    try:
        session = RemoteHost(host).open()
    except RemoteError as exc:
        raise UsageError(str(exc)) from None
    finally:
        progress.clear()
    try:
        yield session
    except RemoteError as exc:
        raise UsageError(str(exc)) from None
    finally:
        session.close()


def remote_targets(session: RemoteHost, *, include_rust: bool) -> list[Target]:
    """The host's targets; a failure is a UsageError."""
    from gildash.engine.remote.ssh import RemoteError

    try:
        return session.targets(include_rust=include_rust)
    except RemoteError as exc:
        raise UsageError(str(exc)) from None


def pick_remote_target(session: RemoteHost, name: str | None) -> Target:
    """The host's target with this id, else its first usable GIL Python, else its first usable Python
    (ids only: paths are this machine's)."""
    from gildash.engine import interpreters

    targets = remote_targets(session, include_rust=name is not None and _names_rust(name))
    if name is not None:
        try:
            target = interpreters.target_by_id(name, targets, where=f" on {session.host}")
        except interpreters.TargetError as exc:
            raise UsageError(str(exc)) from None
        if target is None:
            known = interpreters.known_ids(targets)
            raise UsageError(f"unknown target {name!r} on {session.host} (known there: {known})")
        return target
    python = [t for t in targets if t.available and t.kind == "python"]
    if not python:
        raise UsageError(f"no usable Python interpreter found on {session.host}")
    # As here, where the default is the interpreter running gildash: a plain CPython unless told otherwise.
    return next((t for t in python if t.gil_mode == "gil"), python[0])


def pick_remote_targets(session: RemoteHost, names: Sequence[str] | None) -> list[Target]:
    """The host's named targets in order without repeats, else every available one."""
    found = remote_targets(session, include_rust=_rust_wanted(names))
    return _pick_many(
        found,
        names,
        lambda name: pick_remote_target(session, name),
        f"no available targets found on {session.host}",
    )
