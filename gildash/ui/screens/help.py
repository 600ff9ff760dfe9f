"""The help screen: every key, generated from the app's and the dashboard's bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from gildash.ui.commands import KeyAction


class HelpScreen(ModalScreen[None]):
    """Lists the key actions; any of Esc, q, ?, F1 closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close help", id="help.close"),
    ]

    def __init__(self, actions: Sequence[KeyAction]) -> None:
        super().__init__()
        self.actions = list(actions)

    def compose(self) -> ComposeResult:
        table = Table(expand=True, box=None, show_edge=False, pad_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("action")
        table.add_column("where", style="dim", no_wrap=True)
        for a in self.actions:
            table.add_row(a.keys, a.description, a.scope)
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys (Esc closes · ctrl+p searches them all)"
            yield Static(table, id="help-table")

    def action_close(self) -> None:
        self.dismiss()
