"""The history screen: this session's runs and sweeps in a table; mark two to compare them side by side.

Reads a SessionHistory; never changes it and never runs anything.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from gildash.engine.export import fmt_ratio, fmt_seconds
from gildash.engine.history import HistoryEntry, SessionHistory
from gildash.ui.messages import SweepEnded

HISTORY_COLUMNS = ("", "when", "kind", "workload", "target", "threads", "wall", "eff. cores", "status")
"""Columns of the history table (the first shows the A/B comparison marks)."""

EMPTY_TEXT = "no runs or sweeps yet this session — start one from the dashboard"
"""What the screen says before anything ran."""

MARK_LABELS = ("A", "B")
"""Marks of the first and second entry picked for comparison."""


def entry_key(entry: HistoryEntry) -> str:
    """The table row key of an entry: stable for the session (kind and index never change)."""
    return f"{entry.kind}:{entry.index}"


def _when(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts > 0 else "—"


class HistoryScreen(Screen[None]):
    """Every run and sweep of the session; space marks up to two for a side-by-side comparison."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark to compare", id="history.mark"),
        Binding("x", "clear_marks", "Clear marks", id="history.clear"),
        Binding("escape,h", "back", "Back", id="history.back"),
    ]

    def __init__(self, history: SessionHistory) -> None:
        super().__init__()
        self._history = history
        self._entries: dict[str, HistoryEntry] = {}
        self._marked: list[str] = []
        self._composed = False

    @property
    def marked(self) -> tuple[HistoryEntry, ...]:
        """The entries marked for comparison, in the order they were marked (at most two)."""
        return tuple(self._entries[k] for k in self._marked if k in self._entries)

    def compose(self) -> ComposeResult:
        yield Static(EMPTY_TEXT, id="history-empty")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="history-detail")
        yield Static(id="history-compare-title")
        yield DataTable(id="history-compare", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#history-table", DataTable)
        table.add_columns(*HISTORY_COLUMNS)
        table.focus()
        self._composed = True
        self.update_runs()

    def on_sweep_ended(self, message: SweepEnded) -> None:
        self.update_runs()

    def on_unmount(self) -> None:
        self._composed = False

    def update_runs(self) -> None:
        """Re-read the history (call after a run or sweep finished while this screen is open)."""
        if not self._composed:
            return
        table = self.query_one("#history-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        entries = self._history.entries()
        self._entries = {entry_key(e): e for e in entries}
        self._marked = [k for k in self._marked if k in self._entries]
        for entry in entries:
            key = entry_key(entry)
            table.add_row(*self._cells(entry), key=key)
        if entries:
            table.move_cursor(row=min(max(cursor, 0), len(entries) - 1))
        self.set_class(not entries, "-empty")
        self._refresh_detail()
        self._refresh_compare()

    def _cells(self, entry: HistoryEntry) -> list[str | Text]:
        key = entry_key(entry)
        mark = MARK_LABELS[self._marked.index(key)] if key in self._marked else ""
        mark_cell = Text(mark, style="bold reverse") if mark else Text("")
        when = _when(entry.when)
        if entry.kind == "run":
            r = self._history.runs[entry.index]
            wall = fmt_seconds(r.wall_s)
            return [
                mark_cell,
                when,
                "run",
                r.workload,
                r.target.id,
                str(r.threads),
                wall + (" s" if wall != "—" else ""),
                fmt_ratio(r.effective_cores, ""),
                r.status if r.complete else "incomplete",
            ]
        s = self._history.sweeps[entry.index]
        targets = list(dict.fromkeys(p.target_id for p in s.points))
        threads = sorted({p.threads for p in s.points})
        cores = [p.effective_cores for p in s.points if p.effective_cores is not None]
        failed = sum(1 for p in s.points if not p.ok)
        return [
            mark_cell,
            when,
            "sweep",
            s.workload,
            ", ".join(targets) or "—",
            ",".join(str(n) for n in threads) or "—",
            f"{len(s.points)} points",
            f"≤ {max(cores):.2f}" if cores else "—",
            "ok" if not failed else f"{failed} failed",
        ]

    def _cursor_key(self) -> str | None:
        table = self.query_one("#history-table", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value) if row_key.value is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "history-table":
            self._refresh_detail()

    def action_toggle_mark(self) -> None:
        key = self._cursor_key()
        if key is None:
            return
        if key in self._marked:
            self._marked.remove(key)
        else:
            # A third mark replaces the oldest, so the comparison is always of the last two picked.
            self._marked = [*self._marked, key][-len(MARK_LABELS) :]
        self._refresh_marks()
        self._refresh_detail()
        self._refresh_compare()

    def action_clear_marks(self) -> None:
        self._marked = []
        self._refresh_marks()
        self._refresh_detail()
        self._refresh_compare()

    def action_back(self) -> None:
        self.dismiss()

    def _refresh_marks(self) -> None:
        table = self.query_one("#history-table", DataTable)
        first_column = table.ordered_columns[0].key
        for key, entry in self._entries.items():
            table.update_cell(key, first_column, self._cells(entry)[0])

    def _refresh_detail(self) -> None:
        detail = self.query_one("#history-detail", Static)
        key = self._cursor_key()
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            detail.update("")
            return
        text = Text()
        text.append(entry.label, style="bold")
        text.append(f"  {entry.summary}")
        if len(self._marked) < len(MARK_LABELS):
            text.append("  (space marks it for comparison)", style="dim")
        detail.update(text)

    def _refresh_compare(self) -> None:
        marked = self.marked
        compare = self.query_one("#history-compare", DataTable)
        title = self.query_one("#history-compare-title", Static)
        compare.clear(columns=True)
        showing = len(marked) == len(MARK_LABELS)
        self.set_class(showing, "-comparing")
        if not showing:
            title.update("")
            return
        a, b = marked
        title.update(Text(f"A: {a.label}   vs   B: {b.label}", style="bold"))
        compare.add_columns("", f"A  {a.label}", f"B  {b.label}")
        for metric, left, right in self._history.compare(a, b):
            differs = left != right
            style = "bold" if differs else ""
            compare.add_row(metric, Text(left, style=style), Text(right, style=style))
