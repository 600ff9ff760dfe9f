"""A widget drawn as lines of (text, component) segments, each line's strip cached: a change repaints a line.

Textual re-renders a whole `render()` result (text -> content -> strips) whenever any part of a widget
is refreshed. The live panels change a line or two per tick, several times a second, for as long as the
dashboard is open, and that cost is what the observer adds to the machine it observes. Here a subclass
describes its lines as plain tuples; the base diffs them against what is on screen, refreshes only the
changed lines and builds each strip from segments directly (no Text, no Content, no re-wrapping).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.css.scalar import Unit
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

S = TypeVar("S")

Line = tuple[tuple[str, str], ...]
"""One drawn line: (text, component name without the widget's prefix, '' for the plain style) segments."""

ELLIPSIS = "…"


def ink(line: Line) -> Line:
    """A line as it looks: blank cells look the same in any colour (a level change leaves empty strips)."""
    return tuple((t, n if t.strip() else "") for t, n in line if t)


def plain(line: Line) -> str:
    """A line's text without styles."""
    return "".join(text for text, _name in line)


def fit_strip(segments: list[Segment], length: int, width: int, pad: Style, ellipsis: Style | None) -> Strip:
    """One Strip of exactly `width` cells: padded with `pad`, or cropped (ending in '…' in `ellipsis`).

    One Strip per line: each Strip builds seven caches, so no crop/extend intermediates when it fits.
    """
    if length > width:
        mark = [Segment(ELLIPSIS, ellipsis)] if ellipsis is not None and width > 0 else []
        segments = [*Strip(segments, length).crop(0, width - len(mark)), *mark]
    elif length < width:
        segments = [*segments, Segment(" " * (width - length), pad)]
    return Strip(segments, width)


class ComponentStyles:
    """A widget's resolved Rich styles by component name ('' = the widget's own), cached.

    Resolving walks the DOM's styles each time; a line-drawing widget asks for the same handful per line.
    Call clear() from the widget's notify_style_update (a theme or class change).
    """

    def __init__(self, widget: Widget, prefix: str) -> None:
        self._widget = widget
        self._prefix = prefix
        self._styles: dict[str, Style] = {}

    def __call__(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            widget = self._widget
            style = widget.get_component_rich_style(f"{self._prefix}--{name}") if name else widget.rich_style
            self._styles[name] = style
        return style

    def clear(self) -> None:
        """Forget every resolved style."""
        self._styles.clear()


class LineWidget(Widget):
    """Subclasses implement `build_lines()`, call `changed()` when what they draw may have changed."""

    PREFIX = ""
    """Component class prefix: segment name 'x' is styled by component class f'{PREFIX}--x'."""
    ELLIPSIS_OVERFLOW = False
    """Lines wider than the widget end in '…' (else they are cropped)."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._lines: list[Line] | None = None
        """build_lines() as of the last changed() (None: stale, rebuilt on the next render)."""
        self._lines_width = -1
        """Width the lines were built for."""
        self._strips: dict[int, tuple[Line, Strip]] = {}
        """Rendered strip per line y, with the line it was built from."""
        self._segment_style = ComponentStyles(self, self.PREFIX)
        """Resolved Rich style per segment name."""

    # --- for subclasses --------------------------------------------------------------------------------

    def build_lines(self) -> list[Line]:
        """What the widget draws now, one tuple of segments per line (may read self.size)."""
        raise NotImplementedError

    def changed(self) -> None:
        """What it draws may have changed: repaint the lines that did (re-layout when their count did)."""
        old = self._lines
        if old is None:
            # Already stale, its layout asked for: drawn from the current state when next on screen. A hidden
            # widget (display: none) is never drawn; asking again would lay out the screen at every change.
            return
        if self.is_mounted and any(not node.display for node in self.ancestors_with_self):
            # Hidden (display: none here or above): drawn from the current state when shown, which lays it
            # out anyway. A layout asked for now would lay out the whole screen for nothing.
            self._lines = None
            return
        if not self.is_mounted or self._lines_width != self.size.width:
            self._lines = None
            self.refresh(layout=True)
            return
        new = self._build()
        if len(new) != len(old):
            # A layout pass costs a whole screen; skip it when a CSS min-height already holds both counts.
            self.refresh(layout=not (self._holds(len(old)) and self._holds(len(new))))
            return
        width = self.size.width
        regions = [
            Region(0, y, width, 1)
            for y, (a, b) in enumerate(zip(old, new, strict=True))
            if a != b and ink(a) != ink(b)
        ]
        if regions:
            self.refresh(*regions)

    def _holds(self, rows: int) -> bool:
        """The widget's height stays as it is with `rows` lines (its min-height in cells covers them)."""
        min_height = self.styles.min_height
        if min_height is None or min_height.unit != Unit.CELLS:
            return False
        return max(1, rows) <= min_height.value == self.size.height

    @property
    def lines(self) -> list[Line]:
        """The current lines (built on demand)."""
        if self._lines is None or self._lines_width != self.size.width:
            self._build()
        assert self._lines is not None
        return self._lines

    @property
    def plain_text(self) -> str:
        """The current lines as plain text, one per row (what a test or a screen reader sees)."""
        return "\n".join(plain(line) for line in self.lines)

    # --- Textual ---------------------------------------------------------------------------------------

    def _build(self) -> list[Line]:
        self._lines = self.build_lines()
        self._lines_width = self.size.width
        return self._lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.lines))

    def on_resize(self) -> None:
        self._lines = None
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme change recolours every cached strip
        self._segment_style.clear()

    def render_line(self, y: int) -> Strip:
        lines = self.lines
        width = self.size.width
        if y >= len(lines):
            return Strip.blank(width, self._segment_style(""))
        line = lines[y]
        cached = self._strips.get(y)
        if cached is not None and cached[0] == line and cached[1].cell_length == width:
            return cached[1]
        strip = self._strip(line, width)
        self._strips[y] = (line, strip)
        return strip

    def _strip(self, line: Line, width: int) -> Strip:
        base = self._segment_style("")
        segments = [Segment(text, self._segment_style(name)) for text, name in line if text]
        length = sum(cell_len(text) for text, _name in line)
        return fit_strip(segments, length, width, base, base if self.ELLIPSIS_OVERFLOW else None)


class StateWidget(Widget, Generic[S]):
    """A composite widget that draws one frozen state value: show() replaces it, draw() repaints."""

    def __init__(self, state: S, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        """What is on show (replaced whole by show())."""

    def show(self, state: S) -> None:
        """Draw this state (nothing happens when it is the one on show)."""
        changed = state != self.state
        self.state = state
        if changed and self.is_mounted:
            self.draw()

    def on_mount(self) -> None:
        self.draw()  # a state shown before mounting

    def draw(self) -> None:
        """Repaint the children from self.state."""
        raise NotImplementedError


LEVELS = ("idle", "low", "mid", "high")
"""Load levels, each a component class so themes colour them."""


def level_of(value: float, bounds: tuple[float, float, float]) -> str:
    """idle below bounds[0], low below bounds[1], mid below bounds[2], else high."""
    for name, bound in zip(LEVELS, bounds, strict=False):
        if value < bound:
            return name
    return LEVELS[-1]
