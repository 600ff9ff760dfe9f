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
    runs_to_rows,
    write_export,
)
from gildash.engine.model import SweepResult
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
