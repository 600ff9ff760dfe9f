"""Messages to the UI: run start/end pokes from the session, and sweep changes for every screen.

Workers never touch widgets; the session calls the screen, which posts these, and each screen applies
what concerns it (the charts grow with SweepChanged, history re-reads on SweepEnded).
"""

from __future__ import annotations

from textual.message import Message

from gildash.engine.model import SweepResult


class RunPoke(Message):
    """Show the run updates accumulated so far now (a run started or ended), not at the next frame."""

    def can_replace(self, message: Message) -> bool:
        # Every poke shows everything pending: one queued poke is as good as many.
        return isinstance(message, RunPoke)


class SweepChanged(Message):
    """One more run of the going sweep finished; carries its partial aggregate."""

    def __init__(self, partial: SweepResult) -> None:
        super().__init__()
        self.partial = partial
        """The sweep's aggregate so far."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SweepChanged)


class SweepEnded(Message):
    """The sweep finished or was stopped."""

    def __init__(self, result: SweepResult | None, stopped: bool) -> None:
        super().__init__()
        self.result = result
        """The final aggregate (None when no run finished)."""
        self.stopped = stopped
        """The user stopped it before the plan was done."""
