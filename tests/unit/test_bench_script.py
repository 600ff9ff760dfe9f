"""Smoke tests of scripts/bench_lib.py (the benchmark's pure helpers) and the flood workload's output.

Nothing here is timed: the figures themselves are produced by `make bench`, never asserted in tests.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


lib = _load("bench_lib")


def test_median_and_empty_input() -> None:
    assert lib.median([3.0, 1.0, 2.0]) == 2.0
    assert lib.median([1, 2, 3, 4]) == 2.5
    with pytest.raises(ValueError):
        lib.median([])


def test_ratio_guards_missing_and_zero() -> None:
    assert lib.ratio(3.0, 2.0) == 1.5
    assert lib.ratio(None, 2.0) is None
    assert lib.ratio(1.0, 0.0) is None
    assert lib.ratio(1.0, None) is None


def test_speedups_and_tolerances() -> None:
    # Weak scaling: 2 workers doing twice the work in the same time is a speedup of 2.
    assert lib.weak_speedup(1.0, 1.0, 2) == 2.0
    assert lib.weak_speedup(1.0, 2.0, 2) == 1.0
    assert lib.strong_speedup(2.0, 1.0) == 2.0
    assert lib.within(1.019, 1.0, 0.02) is True
    assert lib.within(1.021, 1.0, 0.02) is False
    assert lib.within(None, 1.0, 0.02) is None
    assert lib.at_most(1.0, 1.0) is True
    assert lib.at_least(199_999.0, 200_000) is False


def test_format_value_per_unit() -> None:
    assert lib.format_value(0.934, "%") == "0.93 %"
    assert lib.format_value(1.01234, "x") == "1.0123×"
    assert lib.format_value(123456.7, "lines/s") == "123,457 lines/s"
    assert lib.format_value(0.0921, "s") == "0.092 s"
    assert lib.format_value(187.4, "ms") == "187 ms"
    assert lib.format_value(None, "ms") == "n/a"
    assert lib.met_text(True) == "yes" and lib.met_text(False) == "NO" and lib.met_text(None) == "n/a"


def test_summary_wall_takes_the_summary_line_only() -> None:
    out = "\n".join(
        [
            '{"event":"start","t":0.01,"protocol":1}',
            "not json at all",
            '{"event":"progress","t":0.5,"worker":0,"done":1,"total":2,"wall_s":9.9}',
            '{"event":"summary","t":1.2,"wall_s":1.125,"ok":true}',
        ]
    )
    assert lib.summary_wall(out) == 1.125
    assert lib.summary_wall('{"event":"start"}') is None
    assert lib.summary_wall('{"event":"summary","wall_s":true}') is None


def test_status_segment_cuts_the_status_out_of_the_box_row() -> None:
    screen = "│ 4   rust   [native threads] 1.95.0 ││ stopped · wall 25.62 s · 0.01 cores     │\n"
    assert lib.status_segment(screen) == "stopped · wall 25.62 s · 0.01 cores"
    assert lib.status_segment("│ idle · target py3.11 │") == ""


def test_flood_line_is_valid_protocol() -> None:
    from gildash.engine.model import ProgressEvent
    from gildash.engine.protocol import parse_line

    event = parse_line(lib.flood_line(0, 5, 10, 0.25))
    assert event == ProgressEvent(t=0.25, worker=0, done=5, total=10)


def test_flood_workload_prints_exactly_lines_plus_two(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_flood.py"), "--lines", "1234", "--threads", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1234 + 2
    assert json.loads(lines[0])["event"] == "start"
    summary = json.loads(lines[-1])
    assert summary["event"] == "summary" and summary["ok"] is True
    assert summary["metrics"]["lines_printed"] == len(lines)
    assert lines[1] == lib.flood_line(0, 1, 1234, json.loads(lines[1])["t"])


def _figures() -> list[object]:
    return [
        lib.Figure("1a", "idle CPU", 0.8, "%", "<= 1.0 %", True, "0.16 CPU s over 20 s"),
        lib.Figure("3a", "lines/s", 150_000.0, "lines/s", ">= 200,000/s", False, "a | pipe"),
        lib.Figure("6", "fidelity", None, "x", "within 5 %", None, "no rust"),
    ]


def test_markdown_table_has_one_row_per_figure_and_escapes_pipes() -> None:
    table = lib.markdown_table(_figures())
    rows = table.strip().splitlines()
    assert rows[0].startswith("| # | figure | measured | target | met? |")
    assert len(rows) == 2 + 3
    assert "| 0.80 % | <= 1.0 % | yes |" in rows[2]
    assert "150,000 lines/s" in rows[3] and "| NO |" in rows[3] and "a \\| pipe" in rows[3]
    assert "| n/a |" in rows[4]


def test_render_doc_states_machine_facts_and_verdict() -> None:
    facts = lib.MachineFacts(
        cpu_model="Test CPU",
        logical_cpus=2,
        kernel="6.1",
        pythons=(("py3.11", "3.11.7"), ("py3.13t", "3.13.5")),
        date="2026-01-01 00:00:00",
        extra=(("tmux", "tmux 3.3a"),),
    )
    doc = lib.render_doc(facts, _figures(), ["a note"])
    assert doc.startswith("# gildash benchmarks")
    assert "Test CPU (2 logical CPUs)" in doc and "py3.13t: Python 3.13.5" in doc and "tmux 3.3a" in doc
    assert "Missed: 3a." in doc and "Not measured: 6." in doc
    assert doc.rstrip().endswith("- a note")
    all_met = lib.render_doc(facts, _figures()[:1], [])
    assert "All targets met." in all_met and "## Notes" not in all_met


def test_text_table_aligns_columns() -> None:
    lines = lib.text_table(_figures()).splitlines()
    assert lines[0].split()[:2] == ["#", "figure"]
    assert set(lines[1]) <= {"-", " "}
    names = ("idle CPU", "lines/s", "fidelity")
    assert len({line.index(name) for line, name in zip(lines[2:], names, strict=True)}) == 1


def test_cpu_model_from_cpuinfo() -> None:
    assert lib.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert lib.cpu_model("") == "unknown"
