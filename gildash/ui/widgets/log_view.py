"""The run log: raw JSONL and stderr lines of the current run, malformed lines highlighted, bounded.

Lines arrive in batches; `queue_lines` holds them until the screen calls `flush()` (while a run streams,
less often than the other panels repaint: a scrolling log repaints every visible line), and of a batch
only the lines that can be on screen are written (rendering a line costs far more than counting it). The
rest are counted and the border says how many, so a flooding workload never stalls the UI. The recording
still holds every line. No scrollbar (it would repaint with every write): the border says when the view
is scrolled back from the live end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Literal

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog

LineKind = Literal["out", "err", "bad", "note"]

MAX_LINES = 2000
"""Lines kept in the widget."""
MAX_PER_FLUSH = 200
"""Lines written per batch at most (before the widget knows its height; then its visible height)."""
MIN_PER_FLUSH = 50
"""Lines written per batch at least: an ordinary run (a few lines a tick) keeps its whole scroll-back."""
MAX_LINE_CHARS = 400
"""Characters shown of one line."""


CONTROLS = {c: "�" for c in [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]}
"""C0/C1 controls (all but tab) -> U+FFFD: a workload's raw escape must never reach the terminal."""


class LogView(RichLog):
    """Bounded log of the current run."""

    COMPONENT_CLASSES = {"log--out", "log--err", "log--bad", "log--note"}

    DEFAULT_CSS = """
    LogView > .log--out { color: $foreground 80%; }
    LogView > .log--err { color: $warning; }
    LogView > .log--bad { color: $error; text-style: bold; }
    LogView > .log--note { color: $accent; text-style: italic; }
    """

    # RichLog grows virtual_size with every write and the base reactive re-lays out the whole screen each
    # time; this log's height is fixed by CSS, so a repaint plus a scrollbar update is enough.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, old: Size, size: Size) -> None:
        if old.width != size.width:
            self._scroll_update(size)

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False, name=name, id=id)
        self.dropped = 0
        """Lines not shown this run because of the caps."""
        self.written = 0
        """Lines written this run."""
        self._queued: deque[tuple[LineKind, str]] = deque(maxlen=MAX_PER_FLUSH)
        self._queued_dropped = 0
        """Lines that fell out of the queue (or arrived counted only) before a flush."""

    def reset(self) -> None:
        """Empty the log (and its queue) for a new run."""
        self.clear()
        self._queued.clear()
        self._queued_dropped = 0
        self.dropped = 0
        self.written = 0
        self._update_subtitle()

    @property
    def queued(self) -> int:
        """Lines waiting for the next flush()."""
        return len(self._queued)

    def queue_lines(self, lines: Sequence[tuple[LineKind, str]], dropped: int = 0) -> None:
        """Hold a batch until flush(); only the newest MAX_PER_FLUSH are kept, the rest are counted."""
        over = max(0, len(self._queued) + len(lines) - MAX_PER_FLUSH)
        self._queued_dropped += dropped + over
        self._queued.extend(lines)

    def flush(self) -> None:
        """Write what queue_lines() held."""
        if self._queued or self._queued_dropped:
            lines, dropped = list(self._queued), self._queued_dropped
            self._queued.clear()
            self._queued_dropped = 0
            self._write_batch(lines, dropped)

    _rich_style: Style | None = None
    """The widget's resolved style (None: resolve on next use)."""

    @property
    def rich_style(self) -> Style:
        # RichLog asks for it once or twice per drawn line and each answer walks every ancestor's styles.
        if self._rich_style is None:
            self._rich_style = super().rich_style
        return self._rich_style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rich_style = None

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        parts = []
        if self.dropped:
            parts.append(f"{self.dropped:,} lines not shown · dropped (flood)")
        if self.max_scroll_y and self.scroll_y < self.max_scroll_y:
            parts.append(f"scrolled back {round(self.max_scroll_y - self.scroll_y):,} lines · End follows")
        subtitle = " · ".join(parts)
        if subtitle != self.border_subtitle:
            self.border_subtitle = subtitle

    def visible_lines(self) -> int:
        """Lines worth writing per batch: what can be visible (MIN_PER_FLUSH..MAX_PER_FLUSH)."""
        height = self.scrollable_content_region.height
        return max(MIN_PER_FLUSH, min(MAX_PER_FLUSH, height)) if height > 0 else MAX_PER_FLUSH

    def add_lines(self, lines: Sequence[tuple[LineKind, str]], dropped: int = 0) -> None:
        """Append a batch now (after anything queued): its newest visible_lines(); the rest are counted."""
        self.flush()
        self._write_batch(lines, dropped)

    def _write_batch(self, lines: Sequence[tuple[LineKind, str]], dropped: int) -> None:
        """Write the newest visible_lines() of a batch, count the rest (and `dropped`) as not shown."""
        over = max(0, len(lines) - self.visible_lines())
        self.dropped += dropped + over
        for kind, line in lines[over:]:
            shown = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…"
            shown = shown.translate(CONTROLS)
            prefix = {"out": "", "err": "stderr: ", "bad": "malformed: ", "note": "· "}[kind]
            style = self.get_component_rich_style(f"log--{kind}", partial=True)
            self.write(Text(prefix + shown, style=style, no_wrap=True, overflow="ellipsis"))
        if lines[over:] and self.auto_scroll:
            # Scroll in this frame: write()'s own deferred scroll then finds nothing to do (no second frame)
            # and still corrects the end when a layout moved it.
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.written += len(lines) - over
        if self.dropped:
            self._update_subtitle()
