"""sum_squares: every worker computes sum(i*i for i < size) in a pure-Python loop (weak scaling).

CPU-bound and GIL-bound: under the GIL two threads take as long as one doing twice the work; without
it (free-threaded build, or --executor process) they run side by side. Every worker's total must equal
the closed form (n-1)n(2n-1)/6.
"""

from __future__ import annotations

import argparse
from typing import Any

import _protocol as proto

CHUNK = 20_000  # iterations between stop checks: ~1-2 ms of work, well inside the 0.1 s reaction budget
CHECK_EVERY = 1_000  # iterations between self-timing clock reads: ~0.05-0.15 ms, well under the 0.3 ms gap


def closed_form(n: int) -> int:
    """sum(i*i for i in range(n))."""
    return (n - 1) * n * (2 * n - 1) // 6


def work(index: int, args: argparse.Namespace, ctx: proto.WorkerContext, shared: Any) -> int:
    """Sum i*i for i < size, in chunks so that stop requests and progress get a look in."""
    n = args.size
    check = ctx.check
    total = 0
    lo = 0
    while lo < n:
        hi = min(lo + CHUNK, n)
        if check is None:
            for i in range(lo, hi):
                total += i * i
        else:
            for mid in range(lo, hi, CHECK_EVERY):
                for i in range(mid, min(mid + CHECK_EVERY, hi)):
                    total += i * i
                check()
        lo = hi
        if ctx.tick(lo, n):
            break
    return total


def combine(args: argparse.Namespace, results: list[Any], _driver: Any) -> proto.Outcome:
    """All workers must agree with each other and with the closed form."""
    expected = closed_form(args.size)
    ok = all(r == expected for r in results)
    return proto.Outcome(results[0], expected, ok, {"workers_agree": len(set(results)) == 1})


WORKLOAD = proto.Workload(
    name="sum_squares",
    description=__doc__.splitlines()[0],
    scaling="weak",
    size_help="loop length PER WORKER (weak scaling: total work grows with --threads)",
    default_size=2_000_000,
    work=work,
    combine=combine,
    check_every=CHECK_EVERY,
    check_unit="iterations",
)

if __name__ == "__main__":
    proto.entry(WORKLOAD)
