"""The one answer to gildash's questions about workloads: which exist, each one's headline figure, which
run one worker by design, and what each target kind can run. (What a target itself is, its GIL mode, its
+gil twin, native baseline or not, the Target answers: see model.py.)

UI and CLI map these answers to words and colours and never re-derive them. Pure data and functions:
no I/O, never imports textual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: `gildash --help` imports this module and need not build the model
    from gildash.engine.model import Executor, RunResult, TargetKind

WORKLOADS: tuple[str, ...] = (
    "sum_squares",
    "primes",
    "io_bound",
    "single_thread",
    "queue_pipeline",
    "http_server",
    "contention",
)
"""The bundled workloads (workloads/*.py), in the order the dashboard cycles through them."""

RUST_WORKLOADS: tuple[str, ...] = ("sum_squares", "primes")
"""Workloads the Rust baseline (rust_cpu_bench) implements."""

MAX_THREADS = 1024
"""Upper bound on --threads (the workloads' own bound; a typo guard far above any machine's cores)."""

CONTENTION_VARIANTS: tuple[tuple[str, str], ...] = tuple(
    (pattern, variant) for pattern in ("list", "object", "counter", "dict") for variant in ("own", "shared")
)
"""(pattern, variant) pairs of the contention workload: each pattern's "scales" (own) and "does not
scale" (shared) form, in the order the dashboard cycles through them."""


def variant_args(workload: str, variant: tuple[str, str] | None) -> tuple[str, ...]:
    """The workload flags that pick a variant (only contention has variants)."""
    if workload != "contention" or variant is None:
        return ()
    return ("--pattern", variant[0], "--variant", variant[1])


def variant_of(workload: str, args: tuple[str, ...]) -> str:
    """'object, shared' for a contention run's flags ('' for other workloads or no flags)."""
    if workload != "contention":
        return ""
    flags = dict(zip(args[::2], args[1::2], strict=False))
    pattern, variant = flags.get("--pattern", "list"), flags.get("--variant", "shared")
    return f"{pattern}, {variant}"


SINGLE_WORKER: frozenset[str] = frozenset({"single_thread"})
"""Workloads that always run one worker, whatever --threads asks (single-threaded by design)."""


@dataclass(frozen=True)
class Headline:
    """The figure a workload is judged by besides wall time (e.g. requests/s of http_server)."""

    unit: str
    """Unit label shown next to the value, e.g. 'requests/s'."""
    metric: str | None
    """Key of the value in the run's summary metrics (None: derived from size and wall)."""
    per_size: bool = False
    """Without the metric: size / wall_s (a strong-scaling workload that processes `size` items)."""


HEADLINES: Mapping[str, Headline] = {
    "http_server": Headline("requests/s", "requests_per_s"),
    "single_thread": Headline("loops/s", "loops_per_s"),
    "queue_pipeline": Headline("items/s", None, per_size=True),
    "contention": Headline("items/s", "items_per_s"),
}
"""Headline figure per workload; the others are judged by wall time alone."""


def headline(workload: str) -> Headline | None:
    """The workload's headline figure, None when wall time is all there is."""
    return HEADLINES.get(workload)


def headline_value(result: RunResult) -> tuple[Headline, float] | None:
    """The run's headline figure and its value; None when the workload has none or the run lacks it."""
    head = headline(result.workload)
    if head is None:
        return None
    value: Any = result.metrics.get(head.metric) if head.metric is not None else None
    if value is None and head.per_size and result.ok and result.size and result.wall_s:
        value = result.size / result.wall_s
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return head, float(value)


def unsupported(kind: TargetKind, workload: str, executor: Executor) -> str | None:
    """Why a target of this kind cannot run this workload with this executor (None: it can)."""
    if kind == "rust":
        if workload not in RUST_WORKLOADS:
            return f"the Rust baseline only runs {' and '.join(RUST_WORKLOADS)} (not {workload!r})"
        if executor != "thread":
            return "the Rust baseline runs threads only, not processes"
    return None
