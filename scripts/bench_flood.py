"""A protocol-v1 workload that prints --lines progress lines as fast as it can (the ingestion benchmark).

Stdlib only; runs under any Python >= 3.9. Prints exactly lines + 2 lines on stdout (start, the progress
lines, summary) so the receiver can count what it got. Any other flag (--threads, --size, --executor
passed by gildash) is accepted and ignored. Exits by itself when its parent dies, like the workloads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

CHUNK = 5_000  # lines per write: big writes keep the producer far faster than any consumer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="progress lines to print")
    args, _unknown = parser.parse_known_args()
    total = max(0, args.lines)
    t0 = time.monotonic()
    parent = os.getppid()
    out = sys.stdout
    start = {
        "event": "start",
        "t": 0.0,
        "protocol": 1,
        "workload": "flood",
        "params": {"threads": 1, "size": total, "executor": "thread"},
        "scaling": "none",
        "pid": os.getpid(),
        "interpreter": {
            "implementation": sys.implementation.name,
            "version": ".".join(map(str, sys.version_info[:3])),
            "executable": sys.executable,
            "free_threaded": False,
            "gil_enabled": True,
        },
        "cpu_count": os.cpu_count(),
        "affinity": None,
    }
    try:
        out.write(json.dumps(start, separators=(",", ":")) + "\n")
        out.flush()
        barrier = time.monotonic()
        done = 0
        while done < total:
            if os.getppid() != parent:
                return 1  # orphaned: nobody is reading any more
            t = time.monotonic() - t0
            stop = min(total, done + CHUNK)
            # Same shape as bench_lib.flood_line; inlined so this file needs nothing but the stdlib.
            out.write(
                "".join(
                    f'{{"event":"progress","t":{t:.6f},"worker":0,"done":{i},"total":{total}}}\n'
                    for i in range(done + 1, stop + 1)
                )
            )
            out.flush()
            done = stop
        end = time.monotonic()
        cpu = os.times()
        summary = {
            "event": "summary",
            "t": end - t0,
            "wall_s": end - barrier,
            "wall_total_s": end - t0,
            "cpu_user_s": cpu.user,
            "cpu_sys_s": cpu.system,
            "cpu_s": cpu.user + cpu.system,
            "ok": True,
            "result": total,
            "expected": total,
            "gil_enabled": True,
            "aborted": False,
            "metrics": {"lines_printed": total + 2},
        }
        out.write(json.dumps(summary, separators=(",", ":")) + "\n")
        out.flush()
    except BrokenPipeError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
