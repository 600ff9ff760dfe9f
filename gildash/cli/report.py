"""Plain-text and JSON reports of runs and sweeps for the terminal: the run report, its badges, the run's
JSON object, the sweep table and aligned text tables.

Words only: every fact comes from the engine (GIL mode from the Target; headline figure and single-worker
workloads from engine.catalog).
Never imports textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gildash.engine import catalog
from gildash.engine.export import (
    POINT_HEADERS,
    TIMELINE_HEADERS,
    VS_RUST_LEGEND,
    fmt_ms,
    fmt_percent,
    has_timeline,
    point_cells,
    points_to_rows,
    timeline_cells,
)
from gildash.engine.machine import machine_warnings
from gildash.engine.model import GilMode, RunResult, SweepResult, Target
from gildash.engine.words import executor_word

GIL_WORDS: dict[GilMode, str] = {
    "gil": "on",
    "free-threaded": "off",
    "gil-forced": "forced on",
    "native": "none",
    "command": "-",
}
"""The GIL column of `gildash targets`."""


def gil_words(target: Target) -> str:
    """The target's GIL mode in a word or two."""
    return GIL_WORDS[target.gil_mode]


def badges(result: RunResult) -> list[str]:
    """Typed warnings and facts worth a glance, each telling the user what happened."""
    out = []
    if result.requested_threads is not None:
        what = f"ran {executor_word(result.executor, result.threads)}"
        if result.workload in catalog.SINGLE_WORKER:
            out.append(
                f"{what}, asked for {result.requested_threads}: "
                f"{result.workload} is single-threaded by design (--threads is ignored)"
            )
        else:
            out.append(f"{what}, asked for {result.requested_threads}: the workload chose its own count")
    if result.gil_reenabled:
        by = f" by module {result.gil_reenabled_by}" if result.gil_reenabled_by else ""
        out.append(f"GIL re-enabled{by}: this free-threaded run was serialised")
    if result.target.gil_mode == "gil-forced":
        forced_by = " (PYTHON_GIL=1)" if dict(result.target.env).get("PYTHON_GIL") == "1" else ""
        out.append(f"GIL forced on{forced_by}")
    if result.noisy:
        out.append("noisy machine: other processes were busy before the run; figures may be low")
    if result.malformed_lines:
        out.append(f"{result.malformed_lines} malformed stdout lines ({result.truncated_lines} truncated)")
    if not result.complete:
        out.append("incomplete: rebuilt from a recording")
    if result.machine is not None:
        out.extend(w.message for w in machine_warnings(result.machine, result.threads))
    return out


def result_json(result: RunResult) -> dict[str, Any]:
    """The `run --json` object: every RunResult field, the target summarised, the headline, badges."""
    from gildash.engine.recording import to_json

    data = to_json(result)
    found = catalog.headline_value(result)
    data["headline"] = {"unit": found[0].unit, "value": found[1]} if found is not None else None
    data["badges"] = badges(result)
    return data


def _fmt(value: float | None, unit: str = "", digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def render_report(result: RunResult) -> str:
    """A short human report of one run."""
    t = result.target
    threads = executor_word(result.executor, result.threads)
    lines = [
        f"{result.workload} on {t.id} ({t.label}), {threads}, {result.executor} executor",
        f"  status     {result.status} ({result.message})",
        f"  wall       {_fmt(result.wall_s, ' s')}  (harness {result.harness_wall_s:.2f} s)",
        f"  cpu        user {_fmt(result.cpu_user_s, ' s', 2)}, sys {_fmt(result.cpu_sys_s, ' s', 2)}",
        f"  cores      {_fmt(result.effective_cores, '', 2)} effective",
    ]
    if has_timeline([result]):
        handoffs = "-" if result.handoffs_per_s is None else f"{result.handoffs_per_s:,.0f}"
        lines.append(
            f"  timeline   overlap {fmt_percent(result.parallel_overlap)}, "
            f"median slice {fmt_ms(result.median_slice_ms)}, {handoffs} hand-offs/s"
        )
    if result.switch_interval_s is not None:
        lines.append(f"  switch     {result.switch_interval_s * 1000:g} ms interval (sys.getswitchinterval)")
    found = catalog.headline_value(result)
    if found is not None:
        head, value = found
        lines.append(f"  {head.unit:<10} {value:,.1f}")
    lines += [f"  ! {b}" for b in badges(result)]
    if not result.ok and result.stderr_tail.strip():
        tail = result.stderr_tail.strip().splitlines()[-5:]
        lines.append("  stderr     " + "\n             ".join(tail))
    if result.recording:
        lines.append(f"  recording  {result.recording}")
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned text: first column left, the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def render_sweep_text(sweep: SweepResult) -> str:
    """The sweep as plain text: title, aligned table (timeline columns when the runs timed themselves),
    Amdahl fits, warnings."""
    from gildash.engine.sweep import sweep_warnings

    lines = [f"{sweep.workload} ({sweep.scaling} scaling): median of repeats, workload wall seconds", ""]
    headers, rows = list(POINT_HEADERS), [point_cells(p) for p in sweep.points]
    if has_timeline(sweep.runs):
        headers += TIMELINE_HEADERS
        # points_to_rows holds each point's median timeline figures over its measured repeats.
        for cells, row in zip(rows, points_to_rows(sweep), strict=True):
            figures = (row["parallel_overlap"], row["median_slice_ms"], row["handoffs_per_s"])
            cells.extend(timeline_cells(*figures))
    lines.append(table(headers, rows))
    if sweep.fits:
        lines.append("")
        for f in sweep.fits:
            lines.append(
                f"Amdahl serial fraction {f.target_id}: {f.serial_fraction:.2f} "
                f"(fit over {f.points} thread counts, rmse {f.rmse:.2f})"
            )
    if any(p.vs_rust is not None for p in sweep.points):
        lines.append("")
        lines.append(VS_RUST_LEGEND)
    warnings = sweep_warnings(sweep)
    if warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in warnings)
    return "\n".join(lines) + "\n"
