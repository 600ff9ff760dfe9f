"""The words every front end (dashboard, CLI, exports) uses for engine values: one spelling each.

Never imports textual; the answers themselves come from the model (Target.gil_mode) and the catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gildash.engine import catalog

if TYPE_CHECKING:  # annotations only: `gildash --help` imports this module and need not build the model
    from gildash.engine.model import Executor, RunResult


def executor_word(executor: Executor | str, count: int | None = None) -> str:
    """'2 threads', '1 process', or just 'threads'/'processes' without a count."""
    if executor == "process":
        noun = "process" if count == 1 else "processes"
    else:
        noun = "thread" if count == 1 else "threads"
    return noun if count is None else f"{count} {noun}"


def headline_text(result: RunResult) -> str:
    """The headline metric in a few characters, e.g. '1,234 requests/s' ('' when there is none)."""
    found = catalog.headline_value(result)
    if found is None:
        return ""
    head, value = found
    return f"{value:,.0f} {head.unit}" if value >= 100 else f"{value:.3g} {head.unit}"
