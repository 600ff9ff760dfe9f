"""gildash's command line: the dashboard (no command) and one module per command.

`main` builds the argparse tree from each command module's `register` and maps every failure to an exit
code: a user error is one line `gildash: error: ...` and exit 2 (commands raise common.UsageError), a
failed run exits 1, Ctrl-C exits 130, and no traceback reaches the user. Module-level imports stay light
(no textual, no psutil) so `gildash --help` is instant; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from gildash.cli import common, demo, export, machine, python_ft, replay, run, sweep, targets
from gildash.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["build_parser", "main"]

COMMANDS = (targets, machine, run, replay, demo, python_ft, sweep, export)
"""Command modules in `gildash --help` order; each has register(subparsers)."""
HOST_COMMANDS = (None, "targets", "machine", "run", "sweep", "python-ft")
"""What `--host` applies to (None: the dashboard); given before any other command it is an error."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"gildash: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argparse tree; each parser's func is a handler(args) -> exit code."""
    from gildash import __version__
    from gildash.cli.dashboard import cmd_dashboard

    parser = _Parser(
        prog="gildash",
        description="A terminal dashboard that makes the GIL visible. Without a command: the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"gildash {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", type=Path, default=None, help="targets config file (TOML)"
    )
    common.add_host(parser, top=True)
    parser.set_defaults(func=common.command(cmd_dashboard))
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser, dest="command")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gildash` script; returns the exit code."""
    try:
        args_list = list(sys.argv[1:] if argv is None else argv)
        if args_list[:1] == ["python-ft"]:
            # Everything after it belongs to the provisioner (argparse's REMAINDER drops a leading --flag).
            args = argparse.Namespace(args=args_list[1:], func=common.command(python_ft.cmd_python_ft))
        else:
            # After a lone `--`, everything goes to the workload unchanged (run, sweep); argparse would
            # match it against gildash's own options (or drop it) otherwise.
            passthrough: list[str] = []
            if "--" in args_list:
                cut = args_list.index("--")
                args_list, passthrough = args_list[:cut], args_list[cut + 1 :]
            args = build_parser().parse_args(args_list)
            if passthrough and not hasattr(args, "workload_args"):
                raise UsageError("only run and sweep take workload flags after --")
            if hasattr(args, "workload_args"):
                args.workload_args = passthrough
            command = getattr(args, "command", None)
            if common.host_of(args) is not None and command not in HOST_COMMANDS:
                raise UsageError(f"--host does not apply to {command} (it runs on this machine)")
        code: int = args.func(args)
        return code
    except UsageError as exc:  # raised outside a handler (none today): still one line
        common.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        common.note("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (`gildash targets | head`): point it at /dev/null so exit stays quiet.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        common.error(f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILED
