"""argparse value types shared by every gildash subcommand: one place for the bounds and their messages.

Never imports textual.
"""

from __future__ import annotations

import argparse

MAX_THREADS = 1024
"""Upper bound on worker counts (a typo guard, far above any machine's core count)."""


def thread_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid thread count {text!r}") from None
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"--threads must be between 1 and {MAX_THREADS} (got {value})")
    return value


def size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--size must be at least 1 (got {value})")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds (got {text})")
    return value


def speed(text: str) -> float:
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
