"""The one answer to gildash's domain questions: which workloads exist, each one's headline figure,
what each target kind can run, a target's GIL mode, its +gil twin and whether it is the native baseline.

UI and CLI map these answers to words and colours and never re-derive them. Pure data and functions:
no I/O, never imports textual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gildash.engine.model import Executor, RunResult, Target, TargetKind

WORKLOADS: tuple[str, ...] = (
    "sum_squares",
    "primes",
    "io_bound",
    "single_thread",
    "queue_pipeline",
    "http_server",
)
"""The bundled workloads (workloads/*.py), in the order the dashboard cycles through them."""

RUST_WORKLOADS: tuple[str, ...] = ("sum_squares", "primes")
"""Workloads the Rust baseline (rust_cpu_bench) implements."""

MAX_THREADS = 1024
"""Upper bound on --threads (the workloads' own bound; a typo guard far above any machine's cores)."""

SINGLE_WORKER: frozenset[str] = frozenset({"single_thread"})
"""Workloads that always run one worker, whatever --threads asks (single-threaded by design)."""

GilMode = Literal["gil", "free-threaded", "gil-forced", "native", "unknown"]
"""How a target runs Python code: with the GIL, without it, a free-threaded build with the GIL forced
back on (PYTHON_GIL=1), native code with no GIL at all, or unknown (a custom command, an unprobed path)."""


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
            return "the Rust baseline only supports --executor thread"
    return None


def _gil_forced(target: Target) -> bool:
    return dict(target.env).get("PYTHON_GIL") == "1"


def gil_mode(target: Target) -> GilMode:
    """How this target runs: gil, free-threaded, gil-forced (PYTHON_GIL=1 or on at start-up), native."""
    if target.kind == "rust":
        return "native"
    if target.kind != "python" or (not target.available and not target.version):
        return "unknown"
    if not target.free_threaded:
        return "gil"
    return "gil-forced" if _gil_forced(target) or target.gil_enabled else "free-threaded"


def _env_without_gil(target: Target) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in target.env if k != "PYTHON_GIL"))


def gil_twin(targets: Sequence[Target], target: Target) -> Target | None:
    """The same free-threaded interpreter in the other GIL mode: PYTHON_GIL=1 for a free-threaded target,
    the GIL-free one for a forced one. Found by executable and environment, never by id; None if absent."""
    mode = gil_mode(target)
    if mode not in ("free-threaded", "gil-forced") or not target.executable:
        return None
    want: GilMode = "gil-forced" if mode == "free-threaded" else "free-threaded"
    for t in targets:
        if (
            t.executable == target.executable
            and _env_without_gil(t) == _env_without_gil(target)
            and gil_mode(t) == want
            # A forced twin is forced by its environment; the free one has no PYTHON_GIL at all.
            and _gil_forced(t) == (want == "gil-forced")
        ):
            return t
    return None


def is_native_baseline(target: Target) -> bool:
    """The target is the native (Rust std::thread) baseline every Python target is compared with."""
    return target.kind == "rust"
