"""The run log: raw JSONL and stderr lines of the current run, malformed lines highlighted, bounded.

Lines arrive in batches; `queue_lines` holds them until the screen calls `flush()` (while a run streams,
once a second, not at every tick: a scrolling log repaints every visible line), and of a batch only the
lines that can be on screen are kept (the rest are counted and the border says how many), so a flooding
workload never stalls the UI. The recording still holds every line.

A Line API view over plain (kind, text) pairs: a written line costs an append, and its strip is built
once, when it first shows. It follows the end like `tail -f` until scrolled back (keys or wheel); no
scrollbar (it would repaint with every write): the border says when the view is scrolled back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import Reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gildash.engine.digest import LineKind
from gildash.ui.widgets.lines import ComponentStyles, fit_strip

MAX_LINES = 2000
"""Lines kept in the widget."""
MAX_PER_FLUSH = 200
"""Lines written per batch at most (before the widget knows its height; then its visible height)."""
MIN_PER_FLUSH = 50
"""Lines written per batch at least: an ordinary run (a few lines a tick) keeps its whole scroll-back."""
MAX_LINE_CHARS = 400
"""Characters shown of one line."""
PREFIXES: dict[LineKind, str] = {"out": "", "err": "stderr: ", "bad": "malformed: ", "note": "· "}
"""What each kind of line starts with (readable without colour too)."""

CONTROLS = {c: "�" for c in [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]}
"""C0/C1 controls (all but tab) -> U+FFFD: a workload's raw escape must never reach the terminal."""


def shown_text(kind: LineKind, line: str) -> str:
    """A line as the log shows it: prefixed, cut at MAX_LINE_CHARS, control characters neutralised."""
    text = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…"
    return PREFIXES[kind] + text.translate(CONTROLS)


class LogView(ScrollView, can_focus=True):
    """Bounded log of the current run."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"log--out", "log--err", "log--bad", "log--note"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, f"Log: {what}", id=f"log.{name}", show=False)
        for key, action, name, what in (
            ("up", "scroll_up", "up", "one line back"),
            ("down", "scroll_down", "down", "one line on"),
            ("pageup", "page_up", "page_up", "a page back"),
            ("pagedown", "page_down", "page_down", "a page on"),
            ("home", "scroll_home", "home", "oldest line"),
            ("end", "follow", "follow", "follow the newest line"),
        )
    ]

    DEFAULT_CSS = """
    LogView { overflow-x: hidden; }
    LogView > .log--out { color: $foreground 80%; }
    LogView > .log--err { color: $warning; }
    LogView > .log--bad { color: $error; text-style: bold; }
    LogView > .log--note { color: $accent; text-style: italic; }
    """

    # The base reactive re-lays out the whole screen when the line count changes; this log's height is
    # fixed by CSS, so a repaint is enough.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.dropped = 0
        """Lines not shown this run because of the caps."""
        self.written = 0
        """Lines written this run."""
        self._lines: deque[tuple[LineKind, str]] = deque(maxlen=MAX_LINES)
        self._first = 0
        """Number of lines ever pushed out of _lines (so a line's absolute index is stable)."""
        self._strips: dict[tuple[int, int], Strip] = {}
        """Drawn strip per (absolute line index, width)."""
        self._queued: deque[tuple[LineKind, str]] = deque(maxlen=MAX_PER_FLUSH)
        self._queued_dropped = 0
        """Lines that fell out of the queue (or arrived counted only) before a flush."""
        self._style = ComponentStyles(self, "log")
        self._following = True
        """The view shows the newest line and keeps doing so (writes, resizes) until scrolled back."""

    # --- content ---------------------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        """Lines held (at most MAX_LINES)."""
        return len(self._lines)

    @property
    def plain_lines(self) -> list[str]:
        """Every held line as shown (prefix included), oldest first."""
        return [shown_text(kind, line) for kind, line in self._lines]

    @property
    def queued(self) -> int:
        """Lines waiting for the next flush()."""
        return len(self._queued)

    def reset(self) -> None:
        """Empty the log (and its queue) for a new run."""
        self._first += len(self._lines)
        self._lines.clear()
        self._strips.clear()
        self._queued.clear()
        self._queued_dropped = 0
        self.dropped = 0
        self.written = 0
        self._sync(follow=True)

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

    def add_lines(self, lines: Sequence[tuple[LineKind, str]], dropped: int = 0) -> None:
        """Append a batch now (after anything queued): its newest visible_lines(); the rest are counted."""
        self.flush()
        self._write_batch(lines, dropped)

    def visible_lines(self) -> int:
        """Lines worth writing per batch: what can be visible (MIN_PER_FLUSH..MAX_PER_FLUSH)."""
        height = self.scrollable_content_region.height
        return max(MIN_PER_FLUSH, min(MAX_PER_FLUSH, height)) if height > 0 else MAX_PER_FLUSH

    def _write_batch(self, lines: Sequence[tuple[LineKind, str]], dropped: int) -> None:
        """Keep the newest visible_lines() of a batch, count the rest (and `dropped`) as not shown."""
        over = max(0, len(lines) - self.visible_lines())
        self.dropped += dropped + over
        kept = lines[over:]
        if kept:
            # Follow the end only if the view was there: reading older lines is not interrupted by a write.
            follow = self._following
            pushed_out = max(0, len(self._lines) + len(kept) - MAX_LINES)
            self._lines.extend(kept)
            self._first += pushed_out
            self.written += len(kept)
            self._sync(follow=follow, shift=pushed_out)
        elif dropped or over:
            self._update_subtitle()

    def _sync(self, *, follow: bool, shift: int = 0) -> None:
        """Match the scroll range to the lines, then show the end (or keep the same lines in view)."""
        if len(self._strips) > 4 * MAX_LINES:
            self._strips.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._lines))
        if follow:
            self.action_follow()
        elif shift:
            self.scroll_to(y=max(0, self.scroll_y - shift), animate=False, immediate=True, force=True)
        self.refresh()
        self._update_subtitle()

    # --- drawing ---------------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style.clear()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, self._style(""))
        key = (self._first + index, width)
        strip = self._strips.get(key)
        if strip is None:
            kind, line = self._lines[index]
            text = shown_text(kind, line)
            style = self._style(kind)
            strip = fit_strip([Segment(text, style)], cell_len(text), width, self._style(""), style)
            self._strips[key] = strip
        return strip

    @property
    def allow_vertical_scroll(self) -> bool:
        # Textual allows scrolling only with a vertical scrollbar shown; this log has none on purpose, so
        # its keys (PgUp, Home, ↑) would be skipped and do nothing. It scrolls whenever there is more to see.
        return not self._check_disabled() and self.max_scroll_y > 0

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._following = new >= self.max_scroll_y
        self._update_subtitle()

    def on_resize(self) -> None:
        # A panel above growing (a run's status line) shrinks the log: still show the newest line.
        if self._following:
            self.action_follow()
        self._update_subtitle()

    def action_follow(self) -> None:
        """Show the newest line and follow new ones."""
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        self._following = True
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
