"""Exporters: hyperfine field names, parseable CSV/JSON, a Markdown table, and writes that never clobber."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_sweep import make_run

from gildash.engine.export import (
    HEADLINE_FIELDS,
    export_csv,
    export_dict,
    export_json,
    export_markdown,
    export_trace,
    runs_to_rows,
    write_export,
)
from gildash.engine.model import RunResult, SweepResult, Timeline, WorkerTrack
from gildash.engine.sweep import summarize

HYPERFINE = {"command", "mean", "stddev", "median", "min", "max", "user", "system", "times"}


def _sweep() -> SweepResult:
    runs = [
        make_run("py3.11", 1, 2.0),
        make_run("py3.11", 2, 2.1),
        make_run("py3.13t", 1, 2.2),
        make_run("py3.13t", 2, 1.1),
        make_run("py3.13t", 2, 1.3),
        make_run("rust", 1, 0.2),
        make_run("rust", 2, None, status="crashed"),
    ]
    return summarize("sum_squares", "strong", runs)


def test_json_has_the_sweep_shape_and_hyperfine_fields() -> None:
    sweep = _sweep()
    doc = json.loads(export_json(sweep.runs, sweep))
    assert set(doc) == {"workload", "scaling", "points", "fits", "warnings", "runs"}
    assert doc["workload"] == "sum_squares" and doc["scaling"] == "strong"
    first = doc["points"][0]
    assert HYPERFINE | {"target", "threads", "speedup", "efficiency", "vs_rust", "effective_cores"} <= set(
        first
    )
    assert first["command"] == "sum_squares@py3.11×1"
    ft2 = next(p for p in doc["points"] if p["target"] == "py3.13t" and p["threads"] == 2)
    assert ft2["times"] == [1.1, 1.3]
    assert ft2["median"] == pytest.approx(1.2)
    assert ft2["speedup"] == pytest.approx(2.2 / 1.2)
    assert ft2["vs_rust"] is None  # rust's 2-thread point crashed
    rust2 = next(p for p in doc["points"] if p["target"] == "rust" and p["threads"] == 2)
    assert rust2["median"] is None and rust2["ok"] is False  # NaN never leaks into JSON
    assert len(doc["runs"]) == 7
    assert any("rust×2" in w for w in doc["warnings"])


def test_json_without_sweep_lists_runs() -> None:
    runs = [make_run("py3.11", 1, 1.5), make_run("py3.11", 2, None, status="stopped", complete=False)]
    doc = export_dict(runs, None)
    assert doc["points"] == [] and doc["fits"] == {}
    assert [r["complete"] for r in doc["runs"]] == [True, False]
    assert doc["runs"][0]["times"] == [1.5] and doc["runs"][1]["times"] == []
    assert doc["runs"][0]["speedup"] is None


def test_run_rows_take_point_figures_from_the_sweep() -> None:
    sweep = _sweep()
    rows = runs_to_rows(sweep.runs, sweep)
    ft2 = [r for r in rows if r["target"] == "py3.13t" and r["threads"] == 2]
    assert {r["mean"] for r in ft2} == {1.1, 1.3}
    assert all(r["speedup"] == pytest.approx(2.2 / 1.2) for r in ft2)
    assert all(set(HEADLINE_FIELDS) <= set(r) for r in rows)


def test_csv_is_parseable_with_a_header() -> None:
    sweep = _sweep()
    rows = list(csv.DictReader(io.StringIO(export_csv(sweep.runs, sweep))))
    assert len(rows) == len(sweep.points)
    assert list(rows[0])[: len(HEADLINE_FIELDS)] == list(HEADLINE_FIELDS)
    ft2 = next(r for r in rows if r["target"] == "py3.13t" and r["threads"] == "2")
    assert float(ft2["median"]) == pytest.approx(1.2)
    assert ft2["times"] == "1.1;1.3"
    assert ft2["ok"] == "true"
    rust2 = next(r for r in rows if r["target"] == "rust" and r["threads"] == "2")
    assert rust2["median"] == "" and rust2["ok"] == "false"


def test_csv_of_runs_marks_incomplete() -> None:
    runs = [make_run("py3.11", 1, 1.5), make_run("py3.11", 2, None, status="stopped", complete=False)]
    rows = list(csv.DictReader(io.StringIO(export_csv(runs))))
    assert [r["complete"] for r in rows] == ["true", "false"]
    assert rows[1]["status"] == "stopped"


def test_markdown_is_a_table() -> None:
    sweep = _sweep()
    md = export_markdown(sweep.runs, sweep)
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0].startswith("| target | threads | median |")
    assert set(table[1]) <= {"|", ":", "-"}
    assert len(table) == 2 + len(sweep.points)
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert "| py3.13t | 2 | 1.200 s |" in md
    assert "FAILED" in md


def test_markdown_of_runs_marks_incomplete() -> None:
    runs = [make_run("py3.11", 1, 1.5), make_run("py3.11", 2, None, status="stopped", complete=False)]
    md = export_markdown(runs)
    assert "incomplete" in md
    assert "| sum_squares@py3.11×1 | 1.500 s |" in md


def test_write_export_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out" / "sweep.md"
    assert write_export(target, "one") == target
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_export(target, "two")
    assert target.read_text() == "one"
    write_export(target, "three", overwrite=True)
    assert target.read_text() == "three"
    assert sorted(p.name for p in target.parent.iterdir()) == ["sweep.md"]


# --- timeline figures and the trace-event export ----------------------------------------------------

TIMED = {
    "parallel_overlap": 0.02,
    "median_slice_ms": 5.01,
    "handoffs_per_s": 190.0,
    "switch_interval_s": 0.005,
}


def _timed_runs() -> list[RunResult]:
    return [
        make_run("py3.11", 2, 2.0, **TIMED),
        make_run("py3.11", 2, 2.2, **TIMED),
        make_run("rust", 2, 0.2),
    ]


def test_timeline_figures_reach_json_csv_and_markdown() -> None:
    runs = _timed_runs()
    doc = export_dict(runs, None)
    first = doc["runs"][0]
    assert {k: first[k] for k in TIMED} == TIMED
    assert doc["runs"][2]["parallel_overlap"] is None
    rows = list(csv.DictReader(io.StringIO(export_csv(runs))))
    assert rows[0]["median_slice_ms"] == "5.01" and rows[2]["median_slice_ms"] == ""
    markdown = export_markdown(runs)
    assert "| overlap | median slice | hand-offs/s |" in markdown
    assert "| 2 % | 5.01 ms | 190 |" in markdown
    sweep = summarize("sum_squares", "weak", runs)
    point = next(p for p in export_dict(runs, sweep)["points"] if p["target"] == "py3.11")
    assert point["median_slice_ms"] == 5.01 and point["parallel_overlap"] == 0.02
    assert "median slice" in export_markdown(runs, sweep)
    # runs without slices (v1 recordings, custom commands) keep the old tables
    assert "median slice" not in export_markdown([make_run("py3.11", 1, 1.0)])


def _timeline() -> Timeline:
    return Timeline(
        (
            WorkerTrack(0, ((0.1, 0.105), (0.11, 0.115)), ((0.2, 0.3),)),
            WorkerTrack(1, ((0.105, 0.11),), ()),
        )
    )


def test_trace_export_follows_the_trace_event_format() -> None:
    runs = _timed_runs()
    text = export_trace([(runs[0], _timeline()), (runs[2], Timeline())])
    doc = json.loads(text)
    assert isinstance(doc["traceEvents"], list) and doc["displayTimeUnit"] in ("ms", "ns")
    events = doc["traceEvents"]
    # every event has the format's required fields with the right types
    for e in events:
        assert isinstance(e["name"], str) and e["ph"] in ("X", "M")
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] == "X":
            assert isinstance(e["ts"], int | float) and isinstance(e["dur"], int | float) and e["dur"] > 0
            assert isinstance(e.get("cat", ""), str)
        else:
            assert e["name"] in ("process_name", "thread_name", "process_sort_index", "thread_sort_index")
            assert isinstance(e["args"], dict)
    complete = [e for e in events if e["ph"] == "X"]
    on_cpu = [e for e in complete if e["name"] == "on CPU"]
    assert len(on_cpu) == 3 and len([e for e in complete if e["name"] == "blocked"]) == 1
    # microseconds, one track per worker
    first = next(e for e in on_cpu if e["tid"] == 1)
    assert first["ts"] == pytest.approx(100_000) and first["dur"] == pytest.approx(5_000)
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {(1, 1): "worker 0", (1, 2): "worker 1"}
    processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert processes == {1: "sum_squares@py3.11×2", 2: "sum_squares@rust×2"}
