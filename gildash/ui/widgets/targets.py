"""Targets panel: the discovered interpreters with their keys 1-9, a GIL badge each, unavailable dimmed.

Pure view: the screen hands it immutable Targets and the ids whose last run re-enabled the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from gildash.engine.model import Target
from gildash.ui.keys import MAX_KEYED

BADGES: dict[str, tuple[str, str]] = {
    "gil": ("GIL", "gil"),
    "free-threaded": ("free-threaded", "ft"),
    "gil-forced": ("GIL forced on", "forced"),
    "native": ("native threads", "native"),
    "command": ("command", "unknown"),
}
"""GilMode -> (badge text, badge kind); short enough to show whole in the 80-column left panel."""


def badge(target: Target, reenabled: bool = False) -> tuple[str, str]:
    """(badge text, badge kind) for a target; kind is gil, ft, forced, reenabled, native or unknown."""
    if reenabled and target.kind == "python":
        return "GIL re-enabled at run time!", "reenabled"
    return BADGES[target.gil_mode]


@dataclass(frozen=True)
class TargetsState:
    """What the targets panel shows."""

    targets: tuple[Target, ...] = ()
    """Targets in display order."""
    selected: int = 0
    """Index of the selected target."""
    reenabled: frozenset[str] = frozenset()
    """Ids of targets whose last run re-enabled the GIL."""
    note: str = ""
    """A line under the list (discovery problems, what a recording holds)."""
    discovering: bool = True
    """Discovery is still running."""


class TargetsPanel(Widget):
    """The list of targets; the selected one is highlighted. Draws one TargetsState."""

    COMPONENT_CLASSES = {
        "targets--key",
        "targets--selected",
        "targets--unavailable",
        "targets--gil",
        "targets--ft",
        "targets--forced",
        "targets--reenabled",
        "targets--native",
        "targets--unknown",
    }

    DEFAULT_CSS = """
    TargetsPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    TargetsPanel > .targets--key { color: $accent; text-style: bold; }
    TargetsPanel > .targets--selected { background: $accent 30%; text-style: bold; }
    TargetsPanel > .targets--unavailable { color: $foreground 40%; text-style: italic; }
    TargetsPanel > .targets--gil { color: $warning; text-style: bold; }
    TargetsPanel > .targets--ft { color: $success; text-style: bold; }
    TargetsPanel > .targets--forced { color: $warning; }
    TargetsPanel > .targets--reenabled { color: $error; text-style: bold reverse; }
    TargetsPanel > .targets--native { color: $secondary; text-style: bold; }
    TargetsPanel > .targets--unknown { color: $foreground 60%; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.state = TargetsState()
        """What is on show (replaced whole by show())."""

    @property
    def targets(self) -> tuple[Target, ...]:
        """Targets on show."""
        return self.state.targets

    @property
    def selected(self) -> int:
        """Index of the selected target."""
        return self.state.selected

    def show(self, state: TargetsState) -> None:
        """Draw this state (re-lays out only when the number of rows changes)."""
        if state == self.state:
            return
        old = self.state
        rows_changed = len(state.targets) != len(old.targets) or bool(state.note) != bool(old.note)
        self.state = state
        self.refresh(layout=rows_changed or state.discovering != old.discovering)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"targets--{name}", partial=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.state.targets) + (1 if self.state.note else 0))

    def line(self, index: int) -> Text:
        """One target's row: key, id, badge, and the reason when unavailable."""
        t = self.state.targets[index]
        row = Text(no_wrap=True, overflow="ellipsis")
        key = str(index + 1) if index < MAX_KEYED else " "
        row.append(f"{key} ", self._style("key"))
        row.append("▶ " if index == self.selected else "  ")
        if not t.available:
            row.append(f"{t.id}  unavailable: {t.reason or 'unknown reason'}", self._style("unavailable"))
            return row
        text, kind = badge(t, t.id in self.state.reenabled)
        row.append(t.id.ljust(12))
        if index == self.selected:
            # The highlight covers key and id only: the badge keeps its own colours on the panel's
            # background, so a selected [GIL] stays as readable as an unselected one in every theme.
            row.stylize(self._style("selected"))
        row.append(f"[{text}]", self._style(kind))
        detail = t.version or t.label
        if detail:
            row.append(f" {detail}", self._style("unknown"))
        return row

    def render(self) -> Text:
        if self.state.discovering:
            return Text("discovering interpreters…", style=self._style("unknown"))
        if not self.state.targets:
            return Text("no targets found (see gildash targets)", style=self._style("unavailable"))
        out = Text(no_wrap=True, overflow="ellipsis")
        for i in range(len(self.state.targets)):
            if i:
                out.append("\n")
            out.append_text(self.line(i))
        if self.state.note:
            out.append("\n" + self.state.note, self._style("unknown"))
        return out
