"""The words every front end (dashboard, CLI, exports) uses for engine values: one spelling each.

Never imports textual; the answers themselves come from the model (Target.gil_mode) and the catalog.
"""

from __future__ import annotations

import math

from gildash.engine.model import Executor, RunResult

HEADLINE_METRICS: dict[str, tuple[str, str]] = {
    "http_server": ("requests_per_s", "req/s"),
    "single_thread": ("loops_per_s", "loops/s"),
    "queue_pipeline": ("items_per_s", "items/s"),
}
"""Workload -> (summary metric key, unit) of the figure that workload is about beyond its wall time."""


def executor_word(executor: Executor | str, count: int | None = None) -> str:
    """'2 threads', '1 process', or just 'threads'/'processes' without a count."""
    if executor == "process":
        noun = "process" if count == 1 else "processes"
    else:
        noun = "thread" if count == 1 else "threads"
    return noun if count is None else f"{count} {noun}"


def headline_value(result: RunResult) -> tuple[float, str] | None:
    """(value, unit) of the run's headline metric, when its workload has one and reported it."""
    key_unit = HEADLINE_METRICS.get(result.workload)
    if key_unit is None:
        return None
    value = result.metrics.get(key_unit[0]) if isinstance(result.metrics, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value), key_unit[1]


def headline_text(result: RunResult) -> str:
    """The headline metric in a few characters, e.g. '1,234 req/s' ('' when there is none)."""
    found = headline_value(result)
    if found is None:
        return ""
    value, unit = found
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
