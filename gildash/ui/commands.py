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


def key_actions(
    app: App[Any], node: DOMNode | None, scope: str, *, bindings: Iterable[BindingType] | None = None
) -> list[KeyAction]:
    """The key actions of `node`'s class bindings (the app's when node is None, or `bindings` given)."""
    source: DOMNode = node if node is not None else app
    out: list[KeyAction] = []
    for binding in _bindings(bindings if bindings is not None else type(source).BINDINGS):
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


def _target_title(dashboard: Screen[Any] | None, ka: KeyAction) -> str | None:
    """'Target 2: py3.13t [free-threaded]' for a target key (None: no target on that key)."""
    from gildash.ui.widgets.targets import badge

    targets = getattr(dashboard, "targets", None) or []
    index = int(ka.binding_id.split(".")[1]) - 1
    if not 0 <= index < len(targets):
        return None
    target = targets[index]
    return f"{ka.description}: {target.id} [{badge(target)[0]}]"


def _other_screen_actions(app: App[Any]) -> Iterator[tuple[KeyAction, str]]:
    """The keys of the charts and history screens, each with the app action that opens its screen."""
    from gildash.ui.screens.charts import ChartsScreen
    from gildash.ui.screens.history import HistoryScreen

    screens: tuple[tuple[str, type[Screen[Any]]], ...] = (
        ("charts", ChartsScreen),
        ("history", HistoryScreen),
    )
    for scope, screen_cls in screens:
        for ka in key_actions(app, None, scope, bindings=screen_cls.BINDINGS):
            if ka.action != "back":
                yield ka, scope  # the app's action that opens a screen is named like its scope


def _open_and_run(app: App[Any], opener: str, scope: str, action: str) -> None:
    async def go() -> None:
        await app.run_action(opener)
        await app.run_action(action, app.screen)

    app.run_worker(go(), group=f"palette-{scope}", exit_on_error=False)


def palette_commands(app: App[Any], dashboard: Screen[Any] | None) -> Iterator[SystemCommand]:
    """Every key action as a command-palette entry (its key shown as the help text): the dashboard's
    (targets named by id and badge, so typing "py3.13" finds them), the log's, the app's, and the charts
    and history screens' (the entry opens that screen first)."""
    for ka in all_key_actions(app, dashboard):
        namespace: DOMNode = app
        title: str | None = ka.description
        if ka.scope == "dashboard" and dashboard is not None:
            namespace = dashboard
            if ka.binding_id.startswith("target.") and ka.binding_id[len("target.") :].isdigit():
                title = _target_title(dashboard, ka)  # "Target 2: py3.13t [free-threaded]"
        elif ka.scope == "log":
            namespace = _log_of(dashboard) or app
        if title is None:
            continue  # a number key with no target behind it
        callback = partial(app.run_action, ka.action, namespace)
        yield SystemCommand(title, f"key: {ka.keys}", callback)
    for ka, opener in _other_screen_actions(app):
        yield SystemCommand(
            f"{ka.scope.capitalize()}: {ka.description}",
            f"key: {ka.keys} (on the {ka.scope} screen)",
            partial(_open_and_run, app, opener, ka.scope, ka.action),
        )
