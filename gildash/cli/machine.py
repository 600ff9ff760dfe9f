"""`gildash machine`: what this machine (or --host) looks like to a run (cores, SMT, clocks, governor, load),
as a table or one JSON object. The same facts are read before every run and kept in its result."""

from __future__ import annotations

import argparse
import json

from gildash.cli import common

MACHINE_HELP = (
    "The machine facts gildash reads before every run (from /sys and /proc); what the OS does not report "
    "reads 'not reported'."
)
"""`gildash machine --help`."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `machine`."""
    what = "show the machine's cores, SMT siblings, clocks, governor and load"
    p = sub.add_parser("machine", help=what, description=MACHINE_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    common.add_host(p)
    p.set_defaults(func=common.command(cmd_machine))


def cmd_machine(args: argparse.Namespace) -> int:
    """The facts right now, here or on --host (as its agent reads them); here it never fails (an unreadable
    fact is 'not reported' / null), on a host a remote failure is one line and exit 2."""
    from gildash.engine.machine import MachineFacts, fact_rows, read_machine
    from gildash.engine.safejson import plain

    common.tolerant_streams()
    host = common.host_of(args)
    facts: MachineFacts | None
    if host is None:
        facts = read_machine()
    else:
        with common.remote_host(host) as session:
            facts = session.machine
        assert facts is not None  # an open session has read them
    if args.json:
        print(json.dumps(plain(facts.to_dict()), indent=2))
        return common.EXIT_OK
    rows = fact_rows(facts)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    return common.EXIT_OK
