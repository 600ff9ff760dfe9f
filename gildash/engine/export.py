"""Exporters: one row shape per run and per sweep point feeding JSON, CSV and Markdown, plus safe writes;
and the runs' timelines as Chrome/Perfetto trace-event JSON.

Field names follow hyperfine where they fit (command, mean, stddev, median, min, max, user, system,
times). Never imports textual; the only I/O is write_export.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gildash.engine.model import RunResult, SweepPoint, SweepResult, Timeline
from gildash.engine.safejson import plain
from gildash.engine.sweep import collect_warnings, sweep_scaling

Row = dict[str, Any]

HEADLINE_FIELDS = (
    "command",
    "mean",
    "stddev",
    "median",
    "min",
    "max",
    "user",
    "system",
    "times",
    "target",
    "threads",
    "speedup",
    "efficiency",
    "vs_rust",
    "effective_cores",
    "ok",
    "gil_reenabled",
    "complete",
)
"""Columns every row has, in CSV order; rows add their own extra fields after these."""

POINT_HEADERS = (
    "target",
    "threads",
    "median",
    "min",
    "max",
    "speedup",
    "efficiency",
    "vs rust",
    "eff. cores",
    "ok",
)
"""Column titles of the sweep table (CLI and Markdown share them)."""


VS_RUST_LEGEND = "vs rust: median wall / the Rust baseline's at the same thread count (2.00× = twice as slow)"
"""One line explaining the vs rust column wherever it is shown."""


def _num(value: float | None) -> float | None:
    """A finite float or None: NaN marks 'no passing repeat' in a SweepPoint and is not valid JSON."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def command_name(workload: str, target_id: str, threads: int) -> str:
    """hyperfine's 'command' for a gildash measurement: workload@target×threads."""
    return f"{workload}@{target_id}×{threads}"


def _point_key(sweep: SweepResult | None) -> dict[tuple[str, int], SweepPoint]:
    return {(p.target_id, p.threads): p for p in sweep.points} if sweep else {}


def runs_to_rows(runs: Sequence[RunResult], sweep: SweepResult | None = None) -> list[Row]:
    """One row per run; speedup/efficiency/vs_rust are the run's sweep point's, when a sweep is given."""
    points = _point_key(sweep)
    warmups = set(sweep.warmup_run_ids) if sweep else set()
    rows: list[Row] = []
    for r in runs:
        wall = _num(r.wall_s)
        point = points.get((r.target.id, r.threads))
        warmup = r.run_id in warmups
        rows.append(
            {
                "command": command_name(r.workload, r.target.id, r.threads),
                "mean": wall,
                "stddev": 0.0 if wall is not None else None,
                "median": wall,
                "min": wall,
                "max": wall,
                "user": _num(r.cpu_user_s),
                "system": _num(r.cpu_sys_s),
                "times": [wall] if wall is not None else [],
                "target": r.target.id,
                "threads": r.threads,
                "speedup": _num(point.speedup) if point and not warmup else None,
                "efficiency": _num(point.efficiency) if point and not warmup else None,
                "vs_rust": _num(point.vs_rust) if point and not warmup else None,
                "effective_cores": _num(r.effective_cores),
                "ok": r.ok,
                "gil_reenabled": r.gil_reenabled,
                "complete": r.complete,
                "run_id": r.run_id,
                "workload": r.workload,
                "size": r.size,
                "executor": r.executor,
                "scaling": r.scaling,
                "status": r.status,
                "warmup": warmup,
                "calibration": r.calibration,
                "gil_reenabled_by": r.gil_reenabled_by,
                "gil_enabled_start": r.gil_enabled_start,
                "gil_enabled_end": r.gil_enabled_end,
                "noisy": r.noisy,
                "harness_wall_s": _num(r.harness_wall_s),
                "exit_code": r.exit_code,
                "signal": r.signal,
                "message": r.message,
                "started_at": r.started_at,
                "target_label": r.target.label,
                "target_version": r.target.version,
                "parallel_overlap": _num(r.parallel_overlap),
                "median_slice_ms": _num(r.median_slice_ms),
                "handoffs_per_s": _num(r.handoffs_per_s),
                "switch_interval_s": _num(r.switch_interval_s),
            }
        )
    return rows


def _median_of(values: Sequence[float | None]) -> float | None:
    """Median of the finite values, None when there are none."""
    known = [v for v in (_num(x) for x in values) if v is not None]
    return statistics.median(known) if known else None


def timeline_figures(runs: Sequence[RunResult]) -> dict[str, float | None]:
    """Median parallel_overlap, median_slice_ms and handoffs_per_s over runs (a sweep point's repeats)."""
    return {
        "parallel_overlap": _median_of([r.parallel_overlap for r in runs]),
        "median_slice_ms": _median_of([r.median_slice_ms for r in runs]),
        "handoffs_per_s": _median_of([r.handoffs_per_s for r in runs]),
    }


def points_to_rows(sweep: SweepResult) -> list[Row]:
    """One row per sweep point (target × threads), in the sweep's order."""
    by_point: dict[tuple[str, int], list[RunResult]] = {}
    warmups = set(sweep.warmup_run_ids)
    for r in sweep.runs:
        if r.run_id not in warmups:
            by_point.setdefault((r.target.id, r.threads), []).append(r)
    rows: list[Row] = []
    for p in sweep.points:
        members = by_point.get((p.target_id, p.threads), [])
        rows.append(
            {
                "command": command_name(sweep.workload, p.target_id, p.threads),
                "mean": _num(p.mean_s),
                "stddev": _num(p.stddev_s),
                "median": _num(p.median_s),
                "min": _num(p.min_s),
                "max": _num(p.max_s),
                "user": _num(p.user_s),
                "system": _num(p.system_s),
                "times": list(p.walls),
                "target": p.target_id,
                "threads": p.threads,
                "speedup": _num(p.speedup),
                "efficiency": _num(p.efficiency),
                "vs_rust": _num(p.vs_rust),
                "effective_cores": _num(p.effective_cores),
                "ok": p.ok,
                "gil_reenabled": p.gil_reenabled,
                "complete": all(r.complete for r in members),
                "runs": len(members),
                **timeline_figures(members),
            }
        )
    return rows


def _common_workload(runs: Sequence[RunResult]) -> str | None:
    names = {r.workload for r in runs}
    return names.pop() if len(names) == 1 else None


def export_dict(runs: Sequence[RunResult], sweep: SweepResult | None) -> dict[str, Any]:
    """The JSON document: {workload, scaling, points, fits, warnings, runs} (points empty without a sweep)."""
    if sweep is None:
        probe = SweepResult(
            workload=_common_workload(runs) or "", scaling="none", points=(), fits=(), runs=tuple(runs)
        )
        return {
            "workload": _common_workload(runs),
            "scaling": sweep_scaling(runs) if _common_workload(runs) else None,
            "points": [],
            "fits": {},
            "warnings": [w.message for w in collect_warnings(probe)],
            "runs": runs_to_rows(runs),
        }
    return {
        "workload": sweep.workload,
        "scaling": sweep.scaling,
        "points": points_to_rows(sweep),
        "fits": {
            f.target_id: {"serial_fraction": f.serial_fraction, "points": f.points, "rmse": f.rmse}
            for f in sweep.fits
        },
        "warnings": [w.message for w in collect_warnings(sweep)],
        "runs": runs_to_rows(runs, sweep),
    }


def export_json(runs: Sequence[RunResult], sweep: SweepResult | None = None) -> str:
    """Strict JSON (no NaN) of export_dict, indented, ending in a newline."""
    # plain(): any NaN/Infinity left (a fit, a metric) becomes null instead of a ValueError.
    return json.dumps(plain(export_dict(runs, sweep)), indent=2, allow_nan=False) + "\n"


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        # A list does not fit a cell: join with ';' so the comma stays the only separator.
        return ";".join(_csv_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def export_csv(runs: Sequence[RunResult], sweep: SweepResult | None = None) -> str:
    """CSV with a header: one row per sweep point when a sweep is given, else one row per run."""
    rows = points_to_rows(sweep) if sweep is not None else runs_to_rows(runs)
    fields = list(HEADLINE_FIELDS)
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_csv_cell(row.get(k)) for k in fields])
    return buf.getvalue()


def fmt_seconds(value: float | None) -> str:
    """Seconds with at least three decimals and three significant digits (0.000412), or an em dash."""
    v = _num(value)
    if v is None:
        return "—"
    # Rust finishes tiny sizes in microseconds: fixed 3 decimals would print them all as 0.000.
    decimals = 3 if v <= 0 else min(9, max(3, 2 - math.floor(math.log10(v))))
    return f"{v:.{decimals}f}"


def fmt_ratio(value: float | None, suffix: str = "×") -> str:
    """A ratio like 1.93×, or an em dash."""
    v = _num(value)
    return "—" if v is None else f"{v:.2f}{suffix}"


def fmt_percent(value: float | None) -> str:
    """A fraction as a whole percentage, or an em dash."""
    v = _num(value)
    return "—" if v is None else f"{100 * v:.0f} %"


def fmt_ms(value: float | None) -> str:
    """Milliseconds with two significant decimals (5.02 ms, 0.98 ms), or an em dash."""
    v = _num(value)
    return "—" if v is None else f"{v:.2f} ms"


TIMELINE_HEADERS = ("overlap", "median slice", "hand-offs/s")
"""Column titles of the timeline figures, appended to a table when some run has them."""


def timeline_cells(overlap: float | None, median_ms: float | None, handoffs: float | None) -> list[str]:
    """Cells matching TIMELINE_HEADERS."""
    v = _num(handoffs)
    return [fmt_percent(overlap), fmt_ms(median_ms), "—" if v is None else f"{v:.0f}"]


def has_timeline(runs: Sequence[RunResult]) -> bool:
    """Some run reported slices (so the timeline columns are worth showing)."""
    return any(r.median_slice_ms is not None for r in runs)


def point_cells(p: SweepPoint) -> list[str]:
    """The sweep table's cells for one point, matching POINT_HEADERS."""
    return [
        p.target_id + (" (GIL re-enabled)" if p.gil_reenabled else ""),
        str(p.threads),
        fmt_seconds(p.median_s) + (" s" if _num(p.median_s) is not None else ""),
        fmt_seconds(p.min_s),
        fmt_seconds(p.max_s),
        fmt_ratio(p.speedup),
        fmt_percent(p.efficiency),
        fmt_ratio(p.vs_rust),
        fmt_ratio(p.effective_cores, ""),
        "ok" if p.ok else "FAILED",
    ]


RUN_HEADERS = ("command", "wall", "user", "system", "eff. cores", "GIL", "status")
"""Column titles of the per-run table."""


def gil_text(r: RunResult) -> str:
    """The GIL state a run actually had, in a few words."""
    if r.target.is_native_baseline:
        return "none (native)"
    if r.gil_reenabled:
        return "re-enabled" + (f" by {r.gil_reenabled_by}" if r.gil_reenabled_by else "")
    state = r.gil_enabled_end if r.gil_enabled_end is not None else r.gil_enabled_start
    if state is None:
        return "unknown"
    return "on" if state else "off"


def run_cells(r: RunResult) -> list[str]:
    """The per-run table's cells for one run, matching RUN_HEADERS."""
    status = r.status if r.complete else "incomplete"
    return [
        command_name(r.workload, r.target.id, r.threads),
        fmt_seconds(r.wall_s) + (" s" if _num(r.wall_s) is not None else ""),
        fmt_seconds(r.cpu_user_s),
        fmt_seconds(r.cpu_sys_s),
        fmt_ratio(r.effective_cores, ""),
        gil_text(r),
        status,
    ]


def _md_escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "") -> str:
    """A GitHub-flavoured Markdown table; align has one l or r per column (default: first l, rest r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|")
    lines.extend("| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def export_markdown(runs: Sequence[RunResult], sweep: SweepResult | None = None) -> str:
    """A table a speaker can paste into slides, then the Amdahl fits and the warnings as a short list."""
    if sweep is not None:
        title = f"**{sweep.workload}** ({sweep.scaling} scaling), median of repeats, wall seconds"
        headers, align = list(POINT_HEADERS), "lrrrrrrrrl"
        cells = [point_cells(p) for p in sweep.points]
        if has_timeline(sweep.runs):
            warmups = set(sweep.warmup_run_ids)
            headers, align = headers + list(TIMELINE_HEADERS), align + "rrr"
            for row, p in zip(cells, sweep.points, strict=True):
                members = [
                    r
                    for r in sweep.runs
                    if r.target.id == p.target_id and r.threads == p.threads and r.run_id not in warmups
                ]
                row.extend(timeline_cells(*timeline_figures(members).values()))
        table = markdown_table(headers, cells, align=align)
        notes = [
            f"- {f.target_id}: Amdahl serial fraction {f.serial_fraction:.2f} "
            f"(fit over {f.points} thread counts, rmse {f.rmse:.2f})"
            for f in sweep.fits
        ]
        if any(p.vs_rust is not None for p in sweep.points):
            notes.append(f"- {VS_RUST_LEGEND}")
        notes.extend(f"- ⚠ {w.message}" for w in collect_warnings(sweep))
    else:
        title = "gildash runs, workload wall seconds (barrier to end)"
        headers, align = list(RUN_HEADERS), "lrrrrll"
        cells = [run_cells(r) for r in runs]
        if has_timeline(runs):
            headers, align = headers + list(TIMELINE_HEADERS), align + "rrr"
            for row, r in zip(cells, runs, strict=True):
                row.extend(timeline_cells(r.parallel_overlap, r.median_slice_ms, r.handoffs_per_s))
        table = markdown_table(headers, cells, align=align)
        probe = SweepResult(workload="", scaling="none", points=(), fits=(), runs=tuple(runs))
        notes = [f"- ⚠ {w.message}" for w in collect_warnings(probe)]
        incomplete = sum(1 for r in runs if not r.complete)
        if incomplete:
            notes.append(f"- {incomplete} run(s) incomplete: the recording ended before they finished")
    parts = [title, "", table]
    if notes:
        parts += ["\n".join(notes) + "\n"]
    return "\n".join(parts)


TRACE_US = 1e6
"""Trace-event timestamps and durations are microseconds."""


def trace_events(runs: Sequence[tuple[RunResult, Timeline]]) -> list[dict[str, Any]]:
    """Chrome/Perfetto trace events: one process per run, one thread (track) per worker, one complete
    ("X") event per on-CPU slice and per blocked span, with process/thread name metadata ("M") events.

    Each run keeps its own workload clock (ts 0 = its workload's start), so runs line up side by side.
    """
    events: list[dict[str, Any]] = []
    for index, (result, timeline) in enumerate(runs):
        pid = index + 1
        name = command_name(result.workload, result.target.id, result.threads)
        events.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": name}})
        events.append(
            {"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0, "args": {"sort_index": pid}}
        )
        for track in timeline.tracks:
            tid = track.worker + 1  # tid 0 reads as "the process" in some viewers
            events.append(
                {
                    "name": "thread_name",
                    "ph": "M",
                    "pid": pid,
                    "tid": tid,
                    "args": {"name": f"worker {track.worker}"},
                }
            )
            events.append(
                {"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": {"sort_index": tid}}
            )
            for label, category, spans in (
                ("on CPU", "slice", track.slices),
                ("blocked", "blocked", track.blocked),
            ):
                for start, end in spans:
                    events.append(
                        {
                            "name": label,
                            "cat": category,
                            "ph": "X",
                            "pid": pid,
                            "tid": tid,
                            "ts": round(start * TRACE_US, 3),
                            "dur": round((end - start) * TRACE_US, 3),
                        }
                    )
    return events


def export_trace(runs: Sequence[tuple[RunResult, Timeline]]) -> str:
    """Trace-event JSON (object form) for Perfetto UI or chrome://tracing; runs without slices add
    only their process name."""
    document = {
        "traceEvents": trace_events(runs),
        "displayTimeUnit": "ms",
        "otherData": {"generator": "gildash", "runs": [r.run_id for r, _ in runs]},
    }
    return json.dumps(document, allow_nan=False, separators=(",", ":")) + "\n"


def write_export(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write text to path; never replaces an existing file unless overwrite (raises FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        try:
            # 'x' creates atomically, so a file appearing between a check and the write is still safe.
            with path.open("x", encoding="utf-8") as fh:
                fh.write(text)
        except FileExistsError:
            raise FileExistsError(f"{path} already exists; refusing to overwrite it (use --force)") from None
        return path
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
