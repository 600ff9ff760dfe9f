"""`gildash targets`: the interpreters (and Rust baseline) gildash can run here or on --host, as a table or
JSON."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from gildash.cli import common

if TYPE_CHECKING:
    from gildash.engine.model import Target


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `targets`."""
    p = sub.add_parser("targets", help="list the interpreters (and Rust baseline) gildash can run")
    p.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    common.add_host(p)
    common.add_config(p)
    p.set_defaults(func=common.command(cmd_targets))


def cmd_targets(args: argparse.Namespace) -> int:
    """What can run here: id, version, GIL mode, where it was found, its executable or why it cannot run."""
    host = common.host_of(args)
    if host is not None:
        with common.remote_host(host) as session:
            return _print(common.remote_targets(session, include_rust=True), args.json)
    return _print(common.discover(args.config, include_rust=True), args.json)


def _print(targets: list[Target], as_json: bool) -> int:
    from gildash.cli.report import gil_words
    from gildash.engine.recording import to_json

    if as_json:
        print(json.dumps([to_json(t) for t in targets], indent=2))
        return common.EXIT_OK
    rows = [("ID", "VERSION", "GIL", "SOURCE", "EXECUTABLE / REASON")]
    for t in targets:
        where = t.executable if t.available else f"unavailable: {t.reason}"
        rows.append((t.id, t.version or "-", gil_words(t), t.source or "-", where))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return common.EXIT_OK
