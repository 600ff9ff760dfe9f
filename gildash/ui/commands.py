"""One list of every key action (app and dashboard bindings) feeding the help screen and the command palette.

Bindings are the single source of truth: nothing here names a key that is not bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen


@dataclass(frozen=True)
class KeyAction:
    """One bound action as the help screen and the palette show it."""

    keys: str
    """The keys, as displayed (e.g. 'x, Esc')."""
    description: str
    """What it does."""
    action: str
    """The action string (e.g. 'select_target(0)')."""
    binding_id: str
    """The binding's id ('' when it has none)."""
    scope: str
    """'app' or the screen's name ('dashboard')."""


def _bindings(items: Iterable[BindingType]) -> Iterator[Binding]:
    for item in items:
        if isinstance(item, Binding):
            yield item
        else:
            yield Binding(*item)


def key_actions(app: App[Any], node: DOMNode | None, scope: str) -> list[KeyAction]:
    """The key actions of `node`'s class bindings (the app's when node is None)."""
    source: DOMNode = node if node is not None else app
    out: list[KeyAction] = []
    for binding in _bindings(type(source).BINDINGS):
        keys = []
        for key in binding.key.split(","):
            single = Binding(key.strip(), binding.action, binding.description)
            keys.append(app.get_key_display(single))
        if binding.key_display and len(keys) == 1:
            keys = [binding.key_display]
        out.append(KeyAction(", ".join(keys), binding.description, binding.action, binding.id or "", scope))
    return out


def all_key_actions(app: App[Any], dashboard: Screen[Any] | None) -> list[KeyAction]:
    """Dashboard actions first, then the run log's (it has the focus), then the app-wide ones."""
    actions = key_actions(app, dashboard, "dashboard") if dashboard is not None else []
    log = _log_of(dashboard)
    if log is not None:
        actions += key_actions(app, log, "log")
    return actions + key_actions(app, None, "app")


def _log_of(dashboard: Screen[Any] | None) -> DOMNode | None:
    from gildash.ui.widgets.log_view import LogView

    if dashboard is None:
        return None
    found = dashboard.query(LogView)
    return found.first() if found else None


def palette_commands(app: App[Any], dashboard: Screen[Any] | None) -> Iterator[SystemCommand]:
    """Every key action as a command-palette entry (its key shown as the help text)."""
    for ka in all_key_actions(app, dashboard):
        namespace: DOMNode = app
        if ka.scope == "dashboard" and dashboard is not None:
            namespace = dashboard
        elif ka.scope == "log":
            namespace = _log_of(dashboard) or app
        callback = partial(app.run_action, ka.action, namespace)
        yield SystemCommand(ka.description, f"key: {ka.keys}", callback)
