"""queue_pipeline: one producer feeds --threads consumers through a bounded queue; CPU work per item.

Item k asks for sum(i*i for i in range(k, k + work)). The producer is a thread of this process; the
consumers are threads sharing a queue.Queue, or child processes sharing a multiprocessing queue (every
item is then pickled across a pipe, which is the price of that executor). size is the TOTAL number of
items (strong scaling); the sum over all items is checked against the closed form.
"""

from __future__ import annotations

import argparse
import queue
import time
from typing import Any

import _protocol as proto

POLL_S = 0.05  # queue waits are bounded so a stop request is seen within this


def squares_below(n: int) -> int:
    """sum(i*i for i in range(n))."""
    return (n - 1) * n * (2 * n - 1) // 6 if n > 0 else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=int, default=200, help="squares summed per item (default 200)")
    parser.add_argument("--batch", type=int, default=1, help="items per queue entry (default 1)")
    parser.add_argument("--qsize", type=int, default=1024, help="queue capacity in entries (default 1024)")


def check(args: argparse.Namespace) -> None:
    for name in ("work", "batch", "qsize"):
        if getattr(args, name) < 1:
            raise proto.UsageError(f"--{name} must be at least 1, got {getattr(args, name)}")


def shared(args: argparse.Namespace, mp: Any, _run: proto.Run) -> Any:
    if mp is None:
        return queue.Queue(maxsize=args.qsize)
    q = mp.Queue(maxsize=args.qsize)
    q.cancel_join_thread()  # the producer must not hang our exit on entries nobody takes after an abort
    return q


def _put(q: Any, item: Any, ctx: proto.WorkerContext) -> bool:
    """Put with bounded waits; False when the run is stopping."""
    while True:
        try:
            q.put(item, timeout=POLL_S)
            return True
        except queue.Full:
            if ctx.should_stop():
                return False


def produce(args: argparse.Namespace, q: Any, n_workers: int, ctx: proto.WorkerContext) -> dict[str, Any]:
    """The driver: items as (lo, hi) ranges of --batch, then one end marker per consumer."""
    t0 = time.monotonic()
    produced = 0
    for lo in range(0, args.size, args.batch):
        hi = min(lo + args.batch, args.size)
        if ctx.should_stop() or not _put(q, (lo, hi), ctx):
            break
        produced += hi - lo
    for _ in range(n_workers):
        if not _put(q, None, ctx):
            break
    return {"produced": produced, "producer_s": time.monotonic() - t0}


def work(index: int, args: argparse.Namespace, ctx: proto.WorkerContext, q: Any) -> dict[str, int]:
    """Consume until the end marker: each item k adds sum of squares of range(k, k + work)."""
    w = args.work
    check = ctx.check
    total = items = 0
    while True:
        began = ctx.block()
        try:
            entry = q.get(timeout=POLL_S)
        except queue.Empty:
            ctx.unblock(began)
            if ctx.should_stop():
                break
            continue
        ctx.unblock(began)
        if entry is None:
            break
        for k in range(entry[0], entry[1]):
            s = 0
            for i in range(k, k + w):
                s += i * i
            total += s
            if check is not None and k + 1 < entry[1]:  # after the entry's last item, block() reads the clock
                check()
        items += entry[1] - entry[0]
        if ctx.tick(items, args.size):
            break
    return {"sum": total, "items": items}


def combine(args: argparse.Namespace, results: list[Any], driver: dict[str, Any]) -> proto.Outcome:
    total = sum(r["sum"] for r in results)
    items = sum(r["items"] for r in results)
    expected = sum(squares_below(k + args.work) - squares_below(k) for k in range(args.size))
    metrics = dict(driver)
    metrics["items_per_worker"] = [r["items"] for r in results]
    return proto.Outcome(total, expected, total == expected and items == args.size, metrics)


WORKLOAD = proto.Workload(
    name="queue_pipeline",
    description=__doc__.splitlines()[0],
    scaling="strong",
    size_help="number of items in TOTAL passed from the producer to the --threads consumers (strong)",
    default_size=50_000,
    work=work,
    combine=combine,
    add_arguments=add_arguments,
    check=check,
    shared=shared,
    driver=produce,
    check_every=1,
    check_unit="items",
)

if __name__ == "__main__":
    proto.entry(WORKLOAD)
