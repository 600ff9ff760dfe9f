"""Messages the dashboard's workers post to the UI: batched run updates and sweep progress.

Workers never touch widgets; they post these and the screen applies them (Textual's workers guide).
"""

from __future__ import annotations

from textual.message import Message

from gildash.engine.model import RunUpdate, SweepProgress, SweepResult


class RunBatch(Message):
    """A burst of run updates, coalesced by the run worker (flushed at most ~10 times a second)."""

    def __init__(self, run_key: int, updates: tuple[RunUpdate, ...], dropped_lines: int = 0) -> None:
        super().__init__()
        self.run_key = run_key
        """Which run of this session the updates belong to (stale batches are ignored)."""
        self.updates = updates
        """The updates in arrival order (log lines beyond the per-flush cap already removed)."""
        self.dropped_lines = dropped_lines
        """Log lines the worker dropped from this burst because it exceeded the cap."""


class SweepStep(Message):
    """One more run of a sweep finished; carries the partial aggregate."""

    def __init__(self, progress: SweepProgress) -> None:
        super().__init__()
        self.progress = progress
        """The engine's progress record."""


class SweepEnded(Message):
    """The sweep finished or was stopped."""

    def __init__(self, result: SweepResult | None, stopped: bool) -> None:
        super().__init__()
        self.result = result
        """The final aggregate (None when no run finished)."""
        self.stopped = stopped
        """The user stopped it before the plan was done."""
