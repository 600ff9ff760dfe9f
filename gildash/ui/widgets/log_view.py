"""The run log: raw JSONL and stderr lines of the current run, malformed lines highlighted, bounded.

Lines arrive in batches (the run worker coalesces them); beyond the caps lines are dropped and counted,
so a flooding workload never stalls the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.text import Text
from textual.widgets import RichLog

LineKind = Literal["out", "err", "bad", "note"]

MAX_LINES = 2000
"""Lines kept in the widget."""
MAX_PER_FLUSH = 300
"""Lines written per batch at most; the rest of a burst is dropped (the widget could not show it anyway)."""
MAX_LINE_CHARS = 400
"""Characters shown of one line."""


class LogView(RichLog):
    """Bounded log of the current run."""

    COMPONENT_CLASSES = {"log--out", "log--err", "log--bad", "log--note"}

    DEFAULT_CSS = """
    LogView > .log--out { color: $foreground 80%; }
    LogView > .log--err { color: $warning; }
    LogView > .log--bad { color: $error; text-style: bold; }
    LogView > .log--note { color: $accent; text-style: italic; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False, name=name, id=id)
        self.dropped = 0
        """Lines not shown this run because of the caps."""
        self.written = 0
        """Lines written this run."""

    def reset(self) -> None:
        """Empty the log for a new run."""
        self.clear()
        self.dropped = 0
        self.written = 0
        self.border_subtitle = ""

    def add_lines(self, lines: Sequence[tuple[LineKind, str]], dropped: int = 0) -> None:
        """Append a batch; keeps the newest MAX_PER_FLUSH of it and counts the rest as dropped."""
        over = max(0, len(lines) - MAX_PER_FLUSH)
        self.dropped += dropped + over
        for kind, line in lines[over:]:
            shown = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…"
            prefix = {"out": "", "err": "stderr: ", "bad": "malformed: ", "note": "· "}[kind]
            style = self.get_component_rich_style(f"log--{kind}", partial=True)
            self.write(Text(prefix + shown, style=style, no_wrap=True, overflow="ellipsis"))
        self.written += len(lines) - over
        if self.dropped:
            self.border_subtitle = f"{self.dropped:,} lines dropped (flood)"
