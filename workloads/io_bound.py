"""io_bound: each operation writes a temporary file in 64 KiB chunks, flushes and fsyncs it, reads it back.

I/O releases the GIL, so threads overlap even on a GIL build. size is the TOTAL number of operations
(--ops is the same option), spread round-robin over the workers (strong scaling). Every byte read back is
compared with what was written; files and the temporary folder are removed however the run ends.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import tempfile
from typing import Any

import _protocol as proto

CHUNK = 64 * 1024
MIB = 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ops", dest="size", type=int, help="same as --size: operations in total")
    parser.add_argument(
        "--mb", type=int, default=24, help="MiB written and read back per operation (default 24)"
    )
    parser.add_argument(
        "--fsync-every",
        type=int,
        default=0,
        help="also fsync after every N chunks (default 0: one flush+fsync per file, after the last chunk)",
    )
    parser.add_argument(
        "--dir", default=None, help="parent folder for the temporary files (default: system temp)"
    )


def check(args: argparse.Namespace) -> None:
    if not 1 <= args.mb <= 4096:
        raise proto.UsageError(f"--mb must be between 1 and 4096, got {args.mb}")
    if args.fsync_every < 0:
        raise proto.UsageError(f"--fsync-every must be >= 0, got {args.fsync_every}")


def shared(args: argparse.Namespace, _mp: Any, run: proto.Run) -> str:
    """A private temporary folder, removed by the run's clean-ups (normal end, signal or parent death)."""
    folder = tempfile.mkdtemp(prefix="gildash-io-", dir=args.dir)
    run.cleanups.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder


def chunk_data(block: bytes, k: int) -> bytes:
    """Chunk k of an operation: the op's random block stamped with k, so misplaced chunks are caught."""
    return struct.pack("<Q", k) + block[8:]


def one_op(path: str, op: int, args: argparse.Namespace, ctx: proto.WorkerContext) -> int | None:
    """Write, fsync, read back and verify one file; returns bytes verified, or None when stopped."""
    block = random.Random(args.seed * 1_000_003 + op).getrandbits(CHUNK * 8).to_bytes(CHUNK, "little")
    chunks = args.mb * MIB // CHUNK
    blocking, unblock = ctx.block, ctx.unblock  # every I/O call is a wait on purpose, not the GIL's
    try:
        with open(path, "wb") as f:
            for k in range(chunks):
                data = chunk_data(block, k)
                began = blocking()
                f.write(data)
                if args.fsync_every and (k + 1) % args.fsync_every == 0:
                    f.flush()
                    os.fsync(f.fileno())
                unblock(began)
                if ctx.should_stop():
                    return None
            began = blocking()
            f.flush()
            os.fsync(f.fileno())
            unblock(began)
        with open(path, "rb") as f:
            for k in range(chunks):
                began = blocking()
                data = f.read(CHUNK)
                unblock(began)
                if data != chunk_data(block, k):
                    raise OSError(f"read-back mismatch in {path} at chunk {k}")
                if ctx.should_stop():
                    return None
            if f.read(1):
                raise OSError(f"{path} is longer than written")
        return chunks * CHUNK
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


def work(index: int, args: argparse.Namespace, ctx: proto.WorkerContext, folder: str) -> dict[str, int]:
    """Operations index, index+threads, ... of the total."""
    mine = range(index, args.size, args.threads)
    done = verified = 0
    for op in mine:
        got = one_op(os.path.join(folder, f"op-{op}.bin"), op, args, ctx)
        if got is None:
            break
        done += 1
        verified += got
        if ctx.tick(done, len(mine)):
            break
    return {"ops": done, "bytes": verified}


def combine(args: argparse.Namespace, results: list[Any], _driver: Any) -> proto.Outcome:
    ops = sum(r["ops"] for r in results)
    verified = sum(r["bytes"] for r in results)
    per_op = args.mb * MIB // CHUNK * CHUNK
    result = {"ops": ops, "bytes": verified}
    expected = {"ops": args.size, "bytes": args.size * per_op}
    return proto.Outcome(result, expected, result == expected, {"mib_verified": verified / MIB})


WORKLOAD = proto.Workload(
    name="io_bound",
    description=__doc__.splitlines()[0],
    scaling="strong",
    size_help="number of file operations in TOTAL, spread over --threads (strong scaling)",
    default_size=8,
    work=work,
    combine=combine,
    add_arguments=add_arguments,
    check=check,
    shared=shared,
    check_every=1,
    check_unit="I/O calls",
)

if __name__ == "__main__":
    proto.entry(WORKLOAD)
