"""argparse value types of every gildash command: one place for the bounds and their messages.

Each raises argparse.ArgumentTypeError with a one-line message; never imports textual.
"""

from __future__ import annotations

import argparse

from gildash.engine.catalog import MAX_THREADS


def thread_count(text: str) -> int:
    """One worker count, 1..MAX_THREADS (--threads of run)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid thread count {text!r}") from None
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"--threads must be between 1 and {MAX_THREADS} (got {value})")
    return value


def size(text: str) -> int:
    """A work size >= 1 (--size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--size must be at least 1 (got {value})")
    return value


def seconds(text: str) -> float:
    """A finite positive number of seconds (--timeout)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds (got {text})")
    return value


def speed(text: str) -> float:
    """A replay speed factor >= 0 (0: as fast as possible)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid speed {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"--speed must be >= 0 (0: as fast as possible), got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (e.g. --repeat)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def thread_list(text: str) -> tuple[int, ...]:
    """'1,2,4' -> (1, 2, 4): ascending, distinct, each in 1..MAX_THREADS (--threads of sweep)."""
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            n = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a thread count: {part!r}") from None
        if not 1 <= n <= MAX_THREADS:
            raise argparse.ArgumentTypeError(f"thread counts must be 1..{MAX_THREADS}, got {n}")
        values.add(n)
    if not values:
        raise argparse.ArgumentTypeError("give at least one thread count, e.g. 1,2,4")
    return tuple(sorted(values))
