"""argparse value types of every gildash command: one place for the bounds and their messages.

Each raises argparse.ArgumentTypeError with a one-line message; never imports textual.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from gildash.engine.catalog import MAX_THREADS

T = TypeVar("T", int, float)


def _parse(text: str, convert: Callable[[str], T], invalid: str) -> T:
    """convert(text), or an ArgumentTypeError saying invalid."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(invalid) from None


def _bounded(value: T, ok: bool, message: str) -> T:
    """value when ok, else an ArgumentTypeError with message."""
    if not ok:
        raise argparse.ArgumentTypeError(message)
    return value


def thread_count(text: str) -> int:
    """One worker count, 1..MAX_THREADS (--threads of run)."""
    n = _parse(text, int, f"invalid thread count {text!r}")
    return _bounded(n, 1 <= n <= MAX_THREADS, f"--threads must be between 1 and {MAX_THREADS} (got {n})")


def size(text: str) -> int:
    """A work size >= 1 (--size)."""
    n = _parse(text, int, f"invalid size {text!r}")
    return _bounded(n, n >= 1, f"--size must be at least 1 (got {n})")


def seconds(text: str) -> float:
    """A finite positive number of seconds (--timeout)."""
    x = _parse(text, float, f"invalid number of seconds {text!r}")
    return _bounded(x, 0 < x < float("inf"), f"expected a positive number of seconds (got {text})")


def speed(text: str) -> float:
    """A replay speed factor > 0 (1 real time, 2 twice as fast)."""
    x = _parse(text, float, f"invalid speed {text!r}")
    # The dashboard's replay paces every run (its ] and [ keys halve and double the factor), so 0 has no
    # meaning there: refused rather than played at x1.
    return _bounded(x, 0 < x < float("inf"), f"--speed must be a factor > 0, e.g. 0.5, 1 or 4 (got {text})")


def switch_interval(text: str) -> float:
    """sys.setswitchinterval() seconds for the workloads, in (0, MAX_SWITCH_INTERVAL_S] (--switch-interval)"""
    # Imported here: the runner pulls in psutil, and `gildash --help` must stay instant.
    from gildash.engine.runner import MAX_SWITCH_INTERVAL_S

    x = _parse(text, float, f"invalid number of seconds {text!r}")
    return _bounded(
        x,
        0 < x <= MAX_SWITCH_INTERVAL_S,
        f"--switch-interval must be in (0, {MAX_SWITCH_INTERVAL_S:g}] seconds, e.g. 0.005 (got {text})",
    )


def positive_int(text: str) -> int:
    """An integer >= 1 (e.g. --repeat)."""
    n = _parse(text, int, f"not an integer: {text!r}")
    return _bounded(n, n >= 1, f"must be >= 1, got {n}")


def thread_list(text: str) -> tuple[int, ...]:
    """'1,2,4' -> (1, 2, 4): ascending, distinct, each in 1..MAX_THREADS (--threads of sweep)."""
    values: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if part:
            n = _parse(part, int, f"not a thread count: {part!r}")
            values.add(_bounded(n, 1 <= n <= MAX_THREADS, f"thread counts must be 1..{MAX_THREADS}, got {n}"))
    if not values:
        raise argparse.ArgumentTypeError("give at least one thread count, e.g. 1,2,4")
    return tuple(sorted(values))
