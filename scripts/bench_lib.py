"""Pure helpers of scripts/bench.py: statistics, parsing of workload output, the figures table, the doc.

No processes, no clocks, no psutil here: everything is a function of its arguments so that
tests/unit/test_bench_script.py can check it quickly. The benchmark itself lives in bench.py.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One row of the benchmark table: what was measured, the target, and whether it was met."""

    key: str
    """Issue-7 item number and letter, e.g. '1a'."""
    name: str
    """What the figure is, one short line."""
    measured: float | None
    """The measured value in `unit` (None: could not be measured, see note)."""
    unit: str
    """How to print it: '%', 's', 'ms', 'x', 'lines/s', 'lines', 'MB' or '' (plain number)."""
    target: str
    """The target as text, e.g. '<= 1.0 %'."""
    met: bool | None
    """Target met; None when it could not be measured."""
    note: str = ""
    """Context: spread, sample count, why it could not be measured."""


@dataclass(frozen=True)
class MachineFacts:
    """What the figures were measured on."""

    cpu_model: str
    """CPU model name from /proc/cpuinfo."""
    logical_cpus: int
    """os.cpu_count()."""
    kernel: str
    """Kernel release."""
    pythons: tuple[tuple[str, str], ...]
    """(target id, version) of each interpreter the bench used."""
    date: str
    """When the bench ran (local time, ISO-like)."""
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """Further (name, value) facts: textual version, tmux version, background load."""


def median(values: Iterable[float]) -> float:
    """The median; raises ValueError on an empty input (a figure must come from real samples)."""
    data = [float(v) for v in values]
    if not data:
        raise ValueError("median of no values")
    return float(statistics.median(data))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or not denominator > 0:
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None


def spread(values: Sequence[float]) -> str:
    """'min..max (n=K)' with 3 significant figures, for notes."""
    if not values:
        return "n=0"
    return f"{min(values):.4g}..{max(values):.4g} (n={len(values)})"


def weak_speedup(t1: float, tn: float, threads: int) -> float:
    """Speedup under weak scaling (size is work per worker): N workers did N times the work of one."""
    return threads * t1 / tn


def strong_speedup(t1: float, tn: float) -> float:
    """Speedup under strong scaling (size is total work)."""
    return t1 / tn


def within(value: float | None, center: float, tolerance: float) -> bool | None:
    """|value - center| <= tolerance * center; None when value is missing."""
    if value is None:
        return None
    return abs(value - center) <= tolerance * abs(center)


def at_most(value: float | None, limit: float) -> bool | None:
    """value <= limit; None when missing."""
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    """value >= limit; None when missing."""
    return None if value is None else value >= limit


def format_value(value: float | None, unit: str) -> str:
    """A measured value as the table shows it."""
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "x":
        return f"{value:.4f}×"
    if unit in ("lines/s", "lines"):
        return f"{value:,.0f} {unit}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.4g}"


def met_text(met: bool | None) -> str:
    """yes / NO / n/a."""
    return "n/a" if met is None else ("yes" if met else "NO")


def summary_of(stdout: str) -> dict[str, object] | None:
    """The last `summary` object among protocol lines (None when there is none)."""
    found: dict[str, object] | None = None
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("event") == "summary":
            found = obj
    return found


def summary_wall(stdout: str) -> float | None:
    """wall_s of the workload's summary line, None without one."""
    summary = summary_of(stdout)
    value = summary.get("wall_s") if summary else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def status_segment(screen: str) -> str:
    """The run panel's final status ('ok · wall 3.41 s · 2.00 cores'), cut out of its box row; '' if none."""
    for line in screen.splitlines():
        for cell in line.split("│"):
            if " · wall " in cell:
                return cell.strip()
    return ""


def flood_line(worker: int, done: int, total: int, t: float) -> str:
    """One protocol v1 progress line, exactly as the flood workload prints it (no newline)."""
    return f'{{"event":"progress","t":{t:.6f},"worker":{worker},"done":{done},"total":{total}}}'


def markdown_table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table: #, figure, measured, target, met?, notes."""
    rows = ["| # | figure | measured | target | met? | notes |", "|---|---|---|---|---|---|"]
    for f in figures:
        cells = [f.key, f.name, format_value(f.measured, f.unit), f.target, met_text(f.met), f.note]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def text_table(figures: Sequence[Figure]) -> str:
    """The figures as aligned plain text for the terminal."""
    header = ("#", "figure", "measured", "target", "met?")
    rows = [header] + [
        (f.key, f.name, format_value(f.measured, f.unit), f.target, met_text(f.met)) for f in figures
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render_doc(facts: MachineFacts, figures: Sequence[Figure], notes: Sequence[str]) -> str:
    """docs/benchmarks.md: machine facts, the figures table, then notes (one bullet each)."""
    out = [
        "# gildash benchmarks",
        "",
        "Written by `make bench` (`scripts/bench.py`); do not edit by hand. Figures come from one run on the",
        "machine below; they are measurements, never test assertions.",
        "",
        "## Machine",
        "",
        f"- CPU: {facts.cpu_model} ({facts.logical_cpus} logical CPUs)",
        f"- Kernel: {facts.kernel}",
        f"- Date: {facts.date}",
    ]
    out += [f"- {target}: Python {version}" for target, version in facts.pythons]
    out += [f"- {name}: {value}" for name, value in facts.extra]
    out += ["", "## Figures", "", markdown_table(figures).rstrip("\n"), ""]
    missed = [f for f in figures if f.met is False]
    unmeasured = [f for f in figures if f.met is None]
    verdict = "All targets met." if not missed and not unmeasured else ""
    if missed:
        verdict += "Missed: " + ", ".join(f.key for f in missed) + ". "
    if unmeasured:
        verdict += "Not measured: " + ", ".join(f.key for f in unmeasured) + "."
    out += [verdict.strip(), ""]
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def cpu_model(cpuinfo: str) -> str:
    """The 'model name' of /proc/cpuinfo text (first one), or 'unknown'."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("model name", "Model", "Processor") and value.strip():
            return value.strip()
    return "unknown"
