"""primes: count primes below size by trial division; chunks come from one shared queue (strong scaling).

The range [0, size) is cut into --chunk sized pieces put on a queue (queue.Queue for threads, a
multiprocessing queue for processes); workers take pieces until the queue is empty, so the total work is
fixed and more workers should finish it sooner. The count is checked against known values of pi(x), or
against a sieve computed after the timed section.
"""

from __future__ import annotations

import argparse
import queue
from typing import Any

import _protocol as proto

KNOWN_PI = {100: 25, 1_000: 168, 10_000: 1_229, 100_000: 9_592, 1_000_000: 78_498, 2_000_000: 148_933}
STOP_EVERY = 512  # numbers between stop checks inside a chunk (< 10 ms of trial division)
CHECK_EVERY = 16  # numbers between self-timing clock reads: ~0.05-0.15 ms below size 1e6


def is_prime(n: int) -> bool:
    """Trial division by 2 and the odd numbers up to sqrt(n)."""
    if n < 2:
        return False
    if n < 4:
        return True
    if n % 2 == 0:
        return False
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


def sieve_count(n: int) -> int:
    """Primes below n by the sieve of Eratosthenes (the independent check)."""
    if n < 3:
        return 0
    flags = bytearray([1]) * n
    flags[0] = flags[1] = 0
    for p in range(2, int(n**0.5) + 1):
        if flags[p]:
            flags[p * p :: p] = bytes(len(range(p * p, n, p)))
    return sum(flags)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunk", type=int, default=10_000, help="numbers per queue item (default 10000)")


def check(args: argparse.Namespace) -> None:
    if args.chunk < 1:
        raise proto.UsageError(f"--chunk must be at least 1, got {args.chunk}")


def shared(args: argparse.Namespace, mp: Any, _run: proto.Run) -> Any:
    """The chunk queue, filled before the start, with one end marker per worker."""
    q = queue.Queue() if mp is None else mp.Queue()
    if mp is not None:
        q.cancel_join_thread()  # never block our exit on chunks nobody will take after an abort
    for lo in range(0, args.size, args.chunk):
        q.put((lo, min(lo + args.chunk, args.size)))
    for _ in range(args.threads):
        q.put(None)
    return q


def work(index: int, args: argparse.Namespace, ctx: proto.WorkerContext, chunks: Any) -> dict[str, int]:
    """Take chunks until the end marker; count primes in each."""
    found = checked = taken = 0
    check = ctx.check
    while not ctx.should_stop():
        began = ctx.block()
        item = chunks.get()
        ctx.unblock(began)
        if item is None:
            break
        taken += 1
        lo, hi = item
        for start in range(lo, hi, STOP_EVERY):
            stop = min(start + STOP_EVERY, hi)
            if check is None:
                for n in range(start, stop):
                    if is_prime(n):
                        found += 1
            else:
                for mid in range(start, stop, CHECK_EVERY):
                    for n in range(mid, min(mid + CHECK_EVERY, stop)):
                        if is_prime(n):
                            found += 1
                    check()
            checked += stop - start
            if ctx.tick(checked, args.size):
                break
    return {"primes": found, "numbers": checked, "chunks": taken}


def combine(args: argparse.Namespace, results: list[Any], _driver: Any) -> proto.Outcome:
    """Sum the workers' counts; every number must have been checked exactly once."""
    total = sum(r["primes"] for r in results)
    checked = sum(r["numbers"] for r in results)
    expected = KNOWN_PI.get(args.size)
    source = "known"
    if expected is None:
        expected, source = sieve_count(args.size), "sieve"
    metrics = {
        "expected_from": source,
        "chunks_per_worker": [r["chunks"] for r in results],
        "numbers_checked": checked,
    }
    return proto.Outcome(total, expected, total == expected and checked == args.size, metrics)


WORKLOAD = proto.Workload(
    name="primes",
    description=__doc__.splitlines()[0],
    scaling="strong",
    size_help="count primes below this TOTAL (strong scaling: the work is split among --threads)",
    default_size=300_000,
    work=work,
    combine=combine,
    add_arguments=add_arguments,
    check=check,
    shared=shared,
    check_every=CHECK_EVERY,
    check_unit="numbers",
)

if __name__ == "__main__":
    proto.entry(WORKLOAD)
