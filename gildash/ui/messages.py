"""Messages the dashboard's workers post to the UI: run start/end pokes and sweep progress.

Workers never touch widgets; they post these and the screen applies them (Textual's workers guide).
"""

from __future__ import annotations

from textual.message import Message

from gildash.engine.model import SweepProgress, SweepResult


class RunPoke(Message):
    """The run worker's nudge: show the accumulated updates now (a run started or ended)."""

    def __init__(self, run_key: int) -> None:
        super().__init__()
        self.run_key = run_key
        """Which run of this session it is about (for logs; every poke just shows what is pending)."""


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
