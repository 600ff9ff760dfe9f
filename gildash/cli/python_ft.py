"""`gildash python-ft [--host H] [ARGS...]`: find or build a free-threaded CPython, here or on a host over
ssh (arguments go to the provisioner)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gildash.cli import common

if TYPE_CHECKING:
    from gildash.engine.remote.host import RemoteHost


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `python-ft` (main hands it everything after the word, leading --flags included)."""
    p = sub.add_parser(
        "python-ft",
        help="find or build a free-threaded CPython here or on --host (arguments go to the provisioner)",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=common.command(cmd_python_ft))


def split_host(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """(--host value or None, the provisioner's own arguments); UsageError for a --host without a value."""
    host: str | None = None
    rest: list[str] = []
    items = iter(words)
    for word in items:
        if word == "--host":
            value = next(items, None)
            if value is None or value.startswith("-"):
                raise common.UsageError("--host needs a value: [user@]HOST or an ssh_config alias")
            host = value
        elif word.startswith("--host="):
            host = word.split("=", 1)[1]
            if not host:
                raise common.UsageError("--host needs a value: [user@]HOST or an ssh_config alias")
        else:
            rest.append(word)
    return host, rest


def cmd_python_ft(args: argparse.Namespace) -> int:
    """Run the provisioner (here, or on --host) with the given arguments; its exit code is ours."""
    host, rest = split_host(list(args.args))
    host = host or common.host_of(args)  # `gildash --host H python-ft` too
    if host is not None:
        with common.remote_host(host) as session:
            return _provision_on(session, rest)
    try:
        from gildash.engine.provision import main as provision_main
    except ImportError as exc:
        raise common.UsageError(f"the provisioner is unavailable ({exc})") from None
    return int(provision_main(rest))


def _provision_on(session: RemoteHost, rest: list[str]) -> int:
    """The bundled provisioner run by the host's python3; its output streams to our stdout/stderr."""
    import subprocess

    bundle = session.bundle
    assert bundle is not None
    command = ["env", f"PYTHONPATH={bundle.pythonpath}", "python3", "-m", "gildash.engine.provision", *rest]
    try:
        proc = subprocess.run(session.link.argv(command), stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise common.UsageError(f"cannot run ssh: {exc.strerror or exc}") from None
    if proc.returncode == 255:  # ssh's own failure (the provisioner exits 0 or 1)
        raise common.UsageError(str(session.link.failure("", 255)))
    return proc.returncode
