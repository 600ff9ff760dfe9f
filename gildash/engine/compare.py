"""The compare strip's figures: the last run of each target side by side, and who is faster by how much.

Pure functions over RunResults (no I/O, never imports textual): the UI draws what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gildash.engine.model import RunResult


@dataclass(frozen=True)
class CompareRow:
    """One target's last comparable run."""

    target_id: str
    """The target."""
    wall_s: float
    """The run's barrier-to-end wall seconds."""
    effective_cores: float | None
    """CPU / wall of the run."""
    parallel_overlap: float | None
    """Share of the run with two or more workers on the CPU (None: not timed)."""
    noisy: bool = False
    """Other processes were busy before the run: its figures may be low."""


@dataclass(frozen=True)
class Comparison:
    """Runs of the same work on different targets, and the headline ratio between two of them."""

    rows: tuple[CompareRow, ...]
    """One per target, in the order first seen."""
    faster: str | None = None
    """The faster target of the headline pair (None: no pair to compare)."""
    slower: str | None = None
    """The slower target of the headline pair."""
    ratio: float | None = None
    """slower wall / faster wall (>= 1)."""
    workload: str = ""
    """What the runs did, e.g. 'sum_squares · 2 threads · 40,000,000'."""


def _same_work(a: RunResult, b: RunResult) -> bool:
    return (a.workload, a.threads, a.size, a.executor) == (b.workload, b.threads, b.size, b.executor)


def compare(runs: Sequence[RunResult], shown: RunResult | None) -> Comparison:
    """The last ok run per target that did the same work as `shown`; the headline pair is the shown
    run's target against the other target with the most different wall (GIL vs free-threaded, say)."""
    if shown is None or not shown.ok or shown.wall_s is None:
        return Comparison(())
    last: dict[str, RunResult] = {}
    for r in runs:
        if r.ok and r.wall_s is not None and r.wall_s > 0 and _same_work(r, shown):
            last.pop(r.target.id, None)  # re-insert: the order follows the newest run of each target
            last[r.target.id] = r
    last[shown.target.id] = shown
    rows = tuple(
        CompareRow(r.target.id, r.wall_s or 0.0, r.effective_cores, r.parallel_overlap, r.noisy)
        for r in last.values()
    )
    what = f"{shown.workload} · {shown.threads} {'processes' if shown.executor == 'process' else 'threads'}"
    others = [r for r in last.values() if r.target.id != shown.target.id]
    if not others or shown.wall_s is None:
        return Comparison(rows, workload=what)
    other = max(others, key=lambda r: abs((r.wall_s or 0.0) - (shown.wall_s or 0.0)))
    fast, slow = (shown, other) if (shown.wall_s or 0.0) <= (other.wall_s or 0.0) else (other, shown)
    ratio = (slow.wall_s or 0.0) / (fast.wall_s or 1.0)
    return Comparison(rows, fast.target.id, slow.target.id, ratio, what)
