"""The top line: the name, what gildash is for, and the mode it is in (demo, replay, recording)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Banner(Static):
    """One line; `show(mode)` says which mode the dashboard is in (bold: a demo, read from afar)."""

    def show(self, mode: str, *, bold: bool = False) -> None:
        """Repaint with this mode text ('' for a plain live session that records nothing)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" gildash ", style="bold reverse")
        text.append("  the GIL, visible")
        if mode:
            text.append(f"   {mode}", style="bold" if bold else "")
        self.update(text)
