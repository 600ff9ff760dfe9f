"""The dashboard's session model: every single run and sweep of this session, listing and comparison.

Plain Python, no I/O, never imports textual; the UI holds one SessionHistory and renders its entries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gildash.engine.model import Executor, RunResult, SweepPoint, SweepResult

EntryKind = Literal["run", "sweep"]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the session history: a single run or a whole sweep."""

    kind: EntryKind
    """run or sweep."""
    index: int
    """Position in SessionHistory.runs (kind run) or SessionHistory.sweeps (kind sweep)."""
    label: str
    """Short title, e.g. 'sum_squares@py3.13t×4' or 'sweep sum_squares (3 targets)'."""
    when: float
    """Unix time the run (or the sweep's first run) started; 0 when unknown."""
    summary: str
    """One line of figures: wall and status for a run, best speedup per target for a sweep."""


def _when_text(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when)) if when > 0 else "—"


def _finite(value: float) -> bool:
    return not math.isnan(value)


class SessionHistory:
    """Runs and sweeps made in this session, in the order they finished."""

    def __init__(self) -> None:
        self._runs: list[RunResult] = []
        self._sweeps: list[SweepResult] = []
        self._order: list[tuple[EntryKind, int]] = []

    @property
    def runs(self) -> list[RunResult]:
        """Single runs (not the runs of sweeps), oldest first; a copy."""
        return list(self._runs)

    @property
    def sweeps(self) -> list[SweepResult]:
        """Sweeps, oldest first; a copy."""
        return list(self._sweeps)

    def add_run(self, result: RunResult) -> HistoryEntry:
        """Record a finished single run and return its entry."""
        self._runs.append(result)
        self._order.append(("run", len(self._runs) - 1))
        return self._entry("run", len(self._runs) - 1)

    def add_sweep(self, result: SweepResult) -> HistoryEntry:
        """Record a finished (or stopped) sweep and return its entry."""
        self._sweeps.append(result)
        self._order.append(("sweep", len(self._sweeps) - 1))
        return self._entry("sweep", len(self._sweeps) - 1)

    def entries(self) -> list[HistoryEntry]:
        """Every run and sweep, in the order they were added."""
        return [self._entry(kind, index) for kind, index in self._order]

    def _entry(self, kind: EntryKind, index: int) -> HistoryEntry:
        # Imported here, not at the top: the dashboard builds a history before its first frame.
        from gildash.engine.export import fmt_ratio, fmt_seconds, gil_text

        if kind == "run":
            r = self._runs[index]
            label = f"{r.workload}@{r.target.id}×{r.threads}"
            wall = fmt_seconds(r.wall_s)
            state = r.status if r.complete else "incomplete"
            summary = f"{wall} s · {fmt_ratio(r.effective_cores, ' cores')} · GIL {gil_text(r)} · {state}"
            return HistoryEntry("run", index, label, r.started_at, summary)
        s = self._sweeps[index]
        targets = _targets(s)
        label = f"sweep {s.workload} ({len(targets)} target{'s' if len(targets) != 1 else ''})"
        best = []
        for target_id in targets:
            top = _at_max_threads(s, target_id)
            if top is not None:
                best.append(f"{target_id} {fmt_ratio(top.speedup)} @{top.threads}")
        failed = sum(1 for p in s.points if not p.ok)
        summary = " · ".join(best) or "no points"
        if failed:
            summary += f" · {failed} failed point{'s' if failed != 1 else ''}"
        when = min((r.started_at for r in s.runs if r.started_at > 0), default=0.0)
        return HistoryEntry("sweep", index, label, when, summary)

    def compare(self, a: HistoryEntry, b: HistoryEntry) -> list[tuple[str, str, str]]:
        """Rows (metric, left, right) comparing two entries side by side."""
        left, right = self._metrics(a), self._metrics(b)
        names = list(left)
        names.extend(n for n in right if n not in names)
        return [(n, left.get(n, "—"), right.get(n, "—")) for n in names]

    def _metrics(self, e: HistoryEntry) -> dict[str, str]:
        from gildash.engine.export import fmt_ratio, fmt_seconds, gil_text

        if e.kind == "run":
            r = self._runs[e.index]
            return {
                "kind": "run",
                "when": _when_text(r.started_at),
                "workload": r.workload,
                "target": r.target.id,
                "threads": str(r.threads),
                "size": str(r.size) if r.size is not None else "default",
                "executor": r.executor,
                "wall": fmt_seconds(r.wall_s) + " s" if r.wall_s is not None else "—",
                "effective cores": fmt_ratio(r.effective_cores, ""),
                "speedup at max threads": "—",
                "GIL": gil_text(r),
                "status": r.status if r.complete else "incomplete",
            }
        s = self._sweeps[e.index]
        targets = _targets(s)
        tops = [(t, _at_max_threads(s, t)) for t in targets]

        def per_target(fmt: str) -> str:
            parts = []
            for target_id, p in tops:
                if p is None:
                    continue
                value = {
                    "wall": fmt_seconds(p.median_s) + " s" if _finite(p.median_s) else "—",
                    "cores": fmt_ratio(p.effective_cores, ""),
                    "speedup": fmt_ratio(p.speedup),
                }[fmt]
                parts.append(f"{target_id} {value}")
            return ", ".join(parts) or "—"

        gil = []
        for target_id in targets:
            members = [r for r in s.runs if r.target.id == target_id]
            states = sorted({gil_text(r) for r in members})
            gil.append(f"{target_id} {'/'.join(states)}")
        threads = sorted({p.threads for p in s.points})
        failed = sum(1 for p in s.points if not p.ok)
        return {
            "kind": "sweep",
            "when": _when_text(e.when),
            "workload": s.workload,
            "target": ", ".join(targets),
            "threads": ",".join(str(n) for n in threads),
            "size": _common([str(r.size) if r.size is not None else "default" for r in s.runs]),
            "executor": _common([r.executor for r in s.runs]),
            "wall": per_target("wall"),
            "effective cores": per_target("cores"),
            "speedup at max threads": per_target("speedup"),
            "GIL": ", ".join(gil) or "—",
            "status": "ok" if not failed else f"{failed} failed point{'s' if failed != 1 else ''}",
        }

    def chart_runs(self) -> list[RunResult]:
        """Every measured run of the session for charts: single runs and sweep runs (warm-ups and replayed
        calibration trials excluded)."""
        out = [r for r in self._runs if not r.calibration]
        for s in self._sweeps:
            warmups = set(s.warmup_run_ids)
            out.extend(r for r in s.runs if r.run_id not in warmups)
        return out

    def chart_sweeps(self) -> list[SweepResult]:
        """The single runs (never a sweep's) aggregated per (workload, size, executor).

        Only runs of the same workload, size and executor are pooled: mixing sizes would make one
        target's 1-thread baseline meaningless for another size.
        """
        return [chart.sweep for chart in self._single_run_charts()]

    def _single_run_charts(self) -> list[ChartSet]:
        from gildash.engine.sweep import aggregate

        groups: dict[tuple[str, int | None, Executor], list[RunResult]] = {}
        last: dict[tuple[str, int | None, Executor], int] = {}
        for position, (kind, index) in enumerate(self._order):
            if kind != "run":
                continue
            r = self._runs[index]
            if r.calibration:
                continue  # a trial size (a replayed sweep's calibration): no point of any curve
            key = (r.workload, r.size, r.executor)
            groups.setdefault(key, []).append(r)
            last[key] = position
        out = []
        for key, runs in groups.items():
            title = f"single runs of {key[0]}"
            out.append(ChartSet(title, aggregate(key[0], runs), "run", last[key]))
        return out

    def chart_sets(self) -> list[ChartSet]:
        """What the charts can show, one at a time, oldest first: each sweep on its own, and the single
        runs pooled per (workload, size, executor) — a one-off run never joins a sweep's curves."""
        sets = self._single_run_charts()
        for position, (kind, index) in enumerate(self._order):
            if kind == "sweep":
                sweep = self._sweeps[index]
                title = f"sweep {index + 1} · {sweep.workload}"
                sets.append(ChartSet(title, sweep, "sweep", position))
        return sorted(sets, key=lambda c: c.position)


@dataclass(frozen=True)
class ChartSet:
    """One thing the scaling charts show: a sweep, or this session's single runs of one workload."""

    title: str
    """How the charts name it, e.g. 'sweep 2 · sum_squares'."""
    sweep: SweepResult
    """Its points."""
    kind: EntryKind
    """sweep, or run for pooled single runs."""
    position: int
    """Where it sits in the session (the entry that last changed it), for ordering."""


def _targets(s: SweepResult) -> list[str]:
    seen: list[str] = []
    for p in s.points:
        if p.target_id not in seen:
            seen.append(p.target_id)
    return seen


def _at_max_threads(s: SweepResult, target_id: str) -> SweepPoint | None:
    """The target's point at its largest thread count with a time (None when it has none)."""
    timed = [p for p in s.points if p.target_id == target_id and _finite(p.median_s)]
    return max(timed, key=lambda p: p.threads) if timed else None


def _common(values: Sequence[str]) -> str:
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else ("mixed" if distinct else "—")
