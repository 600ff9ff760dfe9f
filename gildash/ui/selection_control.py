"""The selection's one owner on the dashboard: what `r` runs next, and the targets panel that shows it.

Holds the Selection (targets on offer, the selected one, the RunSettings), the targets whose runs
re-enabled the GIL, and the panel's note; every change repaints the panel from one TargetsState and
tells the screen, which redraws the run panel's "next" row. Never what is running: that is RunDisplay's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

from textual.dom import DOMNode

from gildash.engine.model import Target
from gildash.engine.settings import RunSettings, Selection
from gildash.ui.widgets.targets import TargetsPanel, TargetsState

SETTING_CHANGES: dict[str, Callable[[RunSettings], RunSettings]] = {
    "workload": RunSettings.next_workload,
    "threads_up": lambda s: s.with_threads(1),
    "threads_down": lambda s: s.with_threads(-1),
    "size": RunSettings.next_size,
    "executor": RunSettings.other_executor,
    "variant": RunSettings.next_variant,
    "switch_interval": RunSettings.next_switch_interval,
}
"""The run settings a key changes, by the name its binding passes to the screen's `setting` action."""


class SelectionControl:
    """Changes the selection, repaints the targets panel, and warns when a key cannot apply."""

    def __init__(
        self, root: DOMNode, threads: int, warn: Callable[[str], None], *, changed: Callable[[], None]
    ) -> None:
        self._root = root
        self._changed = changed
        """Called after every change (the screen redraws the run panel's next row)."""
        self._warn = warn
        self.selection = Selection(settings=RunSettings(threads=threads))
        """What the user is choosing: what `r` runs next (never what is running)."""
        self.reenabled: set[str] = set()
        """Ids of targets whose last run re-enabled the GIL (an import did)."""
        self.discovered = asyncio.Event()
        """Set once the targets on offer are known (discovery ended or the recording's are in)."""
        self._note = ""

    def show(self, note: str | None = None) -> None:
        """Repaint the targets panel (with a new note under it when given)."""
        if note is not None:
            self._note = note
        sel = self.selection
        state = TargetsState(sel.targets, sel.index, frozenset(self.reenabled), self._note, False)
        self._root.query_one(TargetsPanel).show(state)
        self._changed()

    def set_targets(self, targets: Sequence[Target], note: str, index: int | None = None) -> None:
        """The targets on offer (discovery's or a recording's), with a note for the panel."""
        self.selection = self.selection.with_targets(targets, index)
        self.show(note)
        self.discovered.set()

    def _select(self, selection: Selection) -> None:
        moved = selection.index != self.selection.index
        self.selection = selection
        if moved:
            self.show()
        else:
            self._changed()

    def select_index(self, index: int) -> None:
        """Select target `index` (0-based)."""
        chosen = self.selection.select(index)
        if chosen is None:
            self._warn(f"no target {index + 1}")
        else:
            self._select(chosen)

    def select_id(self, target_id: str) -> None:
        """Select the target with this id (no-op when absent)."""
        self._select(self.selection.select_id(target_id))

    def toggle_gil(self) -> None:
        """Switch between a free-threaded target and its `+gil` twin."""
        twin = self.selection.gil_twin()
        if twin is None:
            name = self.selection.target.id if self.selection.target else "this target"
            self._warn(f"{name} has no GIL twin (only free-threaded builds do)")
        else:
            self._select(twin)

    def change(self, name: str) -> str:
        """Apply the named change (SETTING_CHANGES); returns what to tell the user ('' for nothing)."""
        settings = self.selection.settings
        if name == "variant" and settings.workload != "contention":
            self._warn("v picks the contention workload's variant (w cycles to contention)")
            return ""
        self._select(replace(self.selection, settings=SETTING_CHANGES[name](settings)))
        return f"workers are now {self.selection.settings.executor}es" if name == "executor" else ""

    def mark_reenabled(self, target_id: str) -> None:
        """A run of this target re-enabled the GIL: its badge says so from now on."""
        if target_id not in self.reenabled:
            self.reenabled.add(target_id)
            self.show()
