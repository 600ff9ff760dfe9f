"""`gildash python-ft [ARGS...]`: find or build a free-threaded CPython (arguments go to the provisioner)."""

from __future__ import annotations

import argparse

from gildash.cli import common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `python-ft` (main hands it everything after the word, leading --flags included)."""
    p = sub.add_parser(
        "python-ft",
        help="find or build a free-threaded CPython (passes its arguments to the provisioner)",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=common.command(cmd_python_ft))


def cmd_python_ft(args: argparse.Namespace) -> int:
    """Run the provisioner with the given arguments; its exit code is ours."""
    try:
        from gildash.engine.provision import main as provision_main
    except ImportError as exc:
        raise common.UsageError(f"the provisioner is unavailable ({exc})") from None
    return int(provision_main(list(args.args)))
