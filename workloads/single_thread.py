"""single_thread: one plain summation loop, repeated --repeat times, in exactly one worker.

The baseline for per-thread speed: free-threaded builds pay some single-thread cost for giving up the
GIL, and this shows how much. --threads is accepted but ignored (params.threads is always 1; the value
asked for is kept in params.threads_requested). size is the loop length of one repeat (scaling "none").
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import _protocol as proto

CHUNK = 20_000  # iterations between stop checks
CHECK_EVERY = 1_000  # iterations between self-timing clock reads (well under the 0.3 ms gap)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=3, help="times the loop is run (default 3)")


def check(args: argparse.Namespace) -> None:
    if not 1 <= args.repeat <= 1000:
        raise proto.UsageError(f"--repeat must be between 1 and 1000, got {args.repeat}")
    args.threads_requested = args.threads
    args.threads = 1
    args.note = "single_thread always runs one worker; --threads is ignored"


def work(index: int, args: argparse.Namespace, ctx: proto.WorkerContext, shared: Any) -> dict[str, Any]:
    """sum(range(size)) with an explicit loop, `repeat` times; the time of each repeat is returned."""
    n, repeat = args.size, args.repeat
    check = ctx.check
    times: list[float] = []
    total = 0
    for r in range(repeat):
        t0 = time.perf_counter()
        total = 0
        lo = 0
        while lo < n:
            hi = min(lo + CHUNK, n)
            if check is None:
                for i in range(lo, hi):
                    total += i
            else:
                for mid in range(lo, hi, CHECK_EVERY):
                    for i in range(mid, min(mid + CHECK_EVERY, hi)):
                        total += i
                    check()
            lo = hi
            if ctx.tick(r * n + lo, repeat * n):
                return {"sum": total, "times": times}
        times.append(time.perf_counter() - t0)
    return {"sum": total, "times": times}


def combine(args: argparse.Namespace, results: list[Any], _driver: Any) -> proto.Outcome:
    res = results[0]
    times = res["times"]
    expected = args.size * (args.size - 1) // 2
    metrics = {
        "repeat_s": times,
        "best_s": min(times),
        "mean_s": sum(times) / len(times),
        "loops_per_s": args.size / min(times) if min(times) > 0 else None,
    }
    return proto.Outcome(res["sum"], expected, res["sum"] == expected and len(times) == args.repeat, metrics)


WORKLOAD = proto.Workload(
    name="single_thread",
    description=__doc__.splitlines()[0],
    scaling="none",
    size_help="loop length of one repeat",
    default_size=3_000_000,
    work=work,
    combine=combine,
    add_arguments=add_arguments,
    check=check,
    check_every=CHECK_EVERY,
    check_unit="iterations",
)

if __name__ == "__main__":
    proto.entry(WORKLOAD)
