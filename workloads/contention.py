"""contention: the same small operation on a worker's OWN object or on ONE object every worker shares.

Free-threading runs threads side by side, but threads that touch one object still take turns: its
per-object lock, its reference count and its cache line are shared. Each --pattern has two variants:

  list     own: append+pop on the worker's own list     shared: append+pop on one list
  object   own: method call on the worker's own object  shared: method call on one object
  counter  own: lock-free per-thread tally              shared: one counter under one threading.Lock
  dict     own: writes to the worker's own dict         shared: writes to one dict

size is the number of items (operations) PER WORKER (weak scaling). Own objects are created inside the
worker (so the worker owns their reference count); shared ones by the main thread before the start.
The summary's metrics carry items and items_per_s; every variant checks its result (the shared counter
must equal the items done, the shared list must end empty).
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import _protocol as proto

PATTERNS = ("list", "object", "counter", "dict")
VARIANTS = ("own", "shared")
CHUNK = 5_000  # items between stop checks and progress reports: well under 10 ms for every pattern
CHECK_EVERY = 500  # items between self-timing clock reads: ~25-100 us, well under the 0.3 ms gap
DICT_KEYS = 256  # keys 0..255 are small ints (immortal from 3.12): the contention is the dict, not the keys

# The parent keeps what it shared so that combine() can check it after the workers are done.
_PARENT_SHARED: dict[str, Any] = {}


class Accumulator:
    """A plain object with a read-only method: sharing it needs no lock, only its reference count."""

    def __init__(self) -> None:
        self.unit = 1

    def bump(self, step: int) -> int:
        return self.unit * step


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pattern", choices=PATTERNS, default="list", help="what the workers do (default list)"
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default="shared",
        help="own: each worker its own object (scales); shared: one object for all (default shared)",
    )


def check(args: argparse.Namespace) -> None:
    if args.executor == "process" and args.variant == "shared" and args.pattern != "counter":
        raise proto.UsageError(
            f"--pattern {args.pattern} --variant shared needs --executor thread: "
            "processes share no Python objects (only the counter has a cross-process form)"
        )


def make_shared(args: argparse.Namespace, mp: Any, _run: proto.Run) -> Any:
    """The one object every worker uses (None for the own variant)."""
    if args.variant == "own":
        return None
    if args.pattern == "list":
        shared: Any = []
    elif args.pattern == "object":
        shared = Accumulator()
    elif args.pattern == "dict":
        shared = {}
    elif mp is None:
        shared = (threading.Lock(), [0])
    else:
        # one integer in shared memory under one multiprocessing lock: the same pattern across processes
        shared = (mp.Lock(), mp.RawValue("q", 0))
    _PARENT_SHARED["value"] = shared
    return shared


# One inner loop per pattern, each doing k items on the object it is given.


def list_items(lst: list[int], k: int) -> None:
    for i in range(k):
        lst.append(i)
        lst.pop()


def object_items(obj: Accumulator, k: int) -> int:
    total = 0
    for _ in range(k):
        total += obj.bump(1)
    return total


def tally_items(cell: list[int], k: int) -> None:
    for _ in range(k):
        cell[0] += 1


def locked_items(lock: Any, cell: list[int], k: int) -> None:
    for _ in range(k):
        with lock:
            cell[0] += 1


def value_items(lock: Any, value: Any, k: int) -> None:
    for _ in range(k):
        with lock:
            value.value += 1


def dict_items(d: dict[int, int], base: int, k: int) -> None:
    mask = DICT_KEYS - 1  # a local: no global lookup inside the loop
    for i in range(base, base + k):
        d[i & mask] = i


def work(index: int, args: argparse.Namespace, ctx: proto.WorkerContext, shared: Any) -> dict[str, Any]:
    """Do size items in chunks; returns items done, a pattern check value and the worker's own span."""
    n = args.size
    pattern = args.pattern
    own = shared is None
    if pattern == "list":
        target: Any = [] if own else shared
    elif pattern == "object":
        target = Accumulator() if own else shared
    elif pattern == "dict":
        target = {} if own else shared
    else:
        target = [0] if own else shared
    check_value = 0

    def items(base: int, k: int) -> int:
        """Do k items starting at item `base`; returns what they add to the check value."""
        if pattern == "list":
            list_items(target, k)
        elif pattern == "object":
            return object_items(target, k)
        elif pattern == "dict":
            dict_items(target, base, k)
        elif own:
            tally_items(target, k)
        elif isinstance(target[1], list):
            locked_items(target[0], target[1], k)
        else:
            value_items(target[0], target[1], k)
        return 0

    check = ctx.check
    t0 = time.monotonic()
    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        if check is None:
            check_value += items(done, k)
        else:
            for sub in range(0, k, CHECK_EVERY):
                check_value += items(done + sub, min(CHECK_EVERY, k - sub))
                check()
        done += k
        if ctx.tick(done, n):
            break
    t1 = time.monotonic()
    if own and pattern in ("list", "dict"):
        check_value = len(target)
    elif own and pattern == "counter":
        check_value = target[0]
    return {"items": done, "check": check_value, "t0": t0, "t1": t1}


def _shared_state(pattern: str) -> Any:
    """The shared object's final state for the check (length, or the counter's value)."""
    value = _PARENT_SHARED.get("value")
    if value is None:
        return None
    if pattern in ("list", "dict"):
        return len(value)
    if pattern == "counter":
        cell = value[1]
        return cell[0] if isinstance(cell, list) else cell.value
    return None


def combine(args: argparse.Namespace, results: list[Any], _driver: Any) -> proto.Outcome:
    """Every worker did size items and the objects ended in the state those items imply."""
    items = sum(r["items"] for r in results)
    per_worker_ok = all(r["items"] == args.size for r in results)
    pattern, own = args.pattern, args.variant == "own"
    if pattern == "list":
        # append+pop pairs leave every list empty
        ok = all(r["check"] == 0 for r in results) if own else _shared_state(pattern) == 0
    elif pattern == "object":
        ok = all(r["check"] == r["items"] for r in results)
    elif pattern == "dict":
        want = min(DICT_KEYS, args.size)
        ok = all(r["check"] == want for r in results) if own else _shared_state(pattern) == want
    else:
        # the locked counter must not lose an increment
        ok = all(r["check"] == r["items"] for r in results) if own else _shared_state(pattern) == items
    span = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    metrics = {
        "pattern": pattern,
        "variant": args.variant,
        "items": items,
        "items_per_s": items / span if span > 0 else None,
    }
    return proto.Outcome(items, args.size * args.threads, ok and per_worker_ok, metrics)


WORKLOAD = proto.Workload(
    name="contention",
    description=__doc__.splitlines()[0],
    scaling="weak",
    size_help="items (operations) PER WORKER (weak scaling: total work grows with --threads)",
    default_size=1_000_000,
    work=work,
    combine=combine,
    add_arguments=add_arguments,
    check=check,
    shared=make_shared,
    check_every=CHECK_EVERY,
    check_unit="items",
)

if __name__ == "__main__":
    proto.entry(WORKLOAD)
