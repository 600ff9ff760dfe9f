"""The session history model: entries, side-by-side comparison, and runs pooled for charts."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest
from test_sweep import make_run

from gildash.engine.history import HistoryEntry, SessionHistory
from gildash.engine.sweep import summarize


def _history() -> SessionHistory:
    h = SessionHistory()
    h.add_run(make_run("py3.11", 2, 2.0, effective_cores=1.0))
    warm = make_run("py3.13t", 2, 5.0)
    measured = [make_run("py3.13t", n, 2.0 / n) for n in (1, 2)] + [
        make_run("py3.11", n, 2.0) for n in (1, 2)
    ]
    sweep = replace(
        summarize("sum_squares", "strong", measured), runs=(warm, *measured), warmup_run_ids=(warm.run_id,)
    )
    h.add_sweep(sweep)
    h.add_run(
        make_run(
            "py3.13t", 2, 1.0, gil_reenabled=True, gil_reenabled_by="ext", status="stopped", complete=False
        )
    )
    return h


def test_entries_in_order_with_labels_and_summaries() -> None:
    h = _history()
    entries = h.entries()
    assert [(e.kind, e.index) for e in entries] == [("run", 0), ("sweep", 0), ("run", 1)]
    assert entries[0].label == "sum_squares@py3.11×2"
    assert entries[0].summary.startswith("2.000 s · 1.00 cores · GIL on · ok")
    assert entries[1].label == "sweep sum_squares (2 targets)"
    assert "py3.13t 2.00× @2" in entries[1].summary and "py3.11 1.00× @2" in entries[1].summary
    assert entries[1].when == 1_700_000_000.0
    assert "GIL re-enabled by ext" in entries[2].summary and "incomplete" in entries[2].summary
    assert len(h.runs) == 2 and len(h.sweeps) == 1
    with pytest.raises(FrozenInstanceError):
        entries[0].label = "x"  # type: ignore[misc]


def test_compare_two_runs() -> None:
    h = _history()
    run_a, _, run_b = h.entries()
    rows = {metric: (left, right) for metric, left, right in h.compare(run_a, run_b)}
    assert rows["target"] == ("py3.11", "py3.13t")
    assert rows["wall"] == ("2.000 s", "1.000 s")
    assert rows["effective cores"] == ("1.00", "2.00")
    assert rows["GIL"] == ("on", "re-enabled by ext")
    assert rows["status"] == ("ok", "incomplete")


def test_compare_run_with_sweep() -> None:
    h = _history()
    run_a, sweep, _ = h.entries()
    rows = h.compare(run_a, sweep)
    assert [m for m, _, _ in rows][:3] == ["kind", "when", "workload"]
    table = {metric: (left, right) for metric, left, right in rows}
    assert table["kind"] == ("run", "sweep")
    assert table["speedup at max threads"] == ("—", "py3.13t 2.00×, py3.11 1.00×")
    assert table["wall"][1] == "py3.13t 1.000 s, py3.11 2.000 s"
    assert table["threads"] == ("2", "1,2")
    assert table["GIL"][1] == "py3.13t off, py3.11 on"


def test_chart_runs_pool_single_and_sweep_runs_without_warmups() -> None:
    h = _history()
    chart = h.chart_runs()
    assert len(chart) == 2 + 4
    assert all(r.wall_s != 5.0 for r in chart)  # the warm-up stays out of the charts


def test_chart_sweeps_group_by_workload_size_and_executor() -> None:
    h = SessionHistory()
    h.add_run(make_run("py3.11", 1, 2.0))
    h.add_run(make_run("py3.11", 2, 1.0))
    h.add_run(make_run("py3.11", 2, 9.0, size=5))  # another size must not pollute the first group
    h.add_run(make_run("py3.11", 1, 1.0, workload="primes"))
    sweeps = h.chart_sweeps()
    assert [(s.workload, len(s.points)) for s in sweeps] == [
        ("sum_squares", 2),
        ("sum_squares", 1),
        ("primes", 1),
    ]
    first = sweeps[0]
    two = next(p for p in first.points if p.threads == 2)
    assert two.walls == (1.0,)
    assert two.speedup == pytest.approx(2.0)


def test_replayed_calibration_trials_join_no_chart_and_no_comparison() -> None:
    h = SessionHistory()
    h.add_run(make_run("py3.11", 1, 2.0))
    h.add_run(make_run("py3.11", 1, 0.1, calibration=True))  # a trial at the same size, 20x faster
    (pooled,) = h.chart_sweeps()
    assert pooled.points[0].walls == (2.0,)
    assert [r.wall_s for r in h.chart_runs()] == [2.0]


def test_history_entry_is_a_plain_frozen_record() -> None:
    e = HistoryEntry("run", 0, "x", 0.0, "y")
    assert e == HistoryEntry("run", 0, "x", 0.0, "y")
