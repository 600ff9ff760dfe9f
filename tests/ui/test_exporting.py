"""export_bundle: four files in a new folder, never overwriting an earlier export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from gildash.engine.history import SessionHistory
from gildash.engine.model import RunResult, Target
from gildash.engine.sweep import summarize
from gildash.ui.exporting import BUNDLE_FILES, default_folder, export_bundle, new_folder

PY313T = Target(
    "py3.13t", "CPython 3.13.5 free-threaded", "/opt/py/bin/python3.13t", "python", "3.13.5", "cpython",
    free_threaded=True, gil_enabled=False,
)  # fmt: skip
RUST = Target("rust", "Rust std::thread", "/opt/rust_cpu_bench", "rust", "1.75", "rust")
WALLS = {("py3.13t", 1): 0.80, ("py3.13t", 2): 0.865, ("rust", 1): 0.011, ("rust", 2): 0.01117}


def make_run(target: Target, threads: int) -> RunResult:
    """A passing sum_squares run with the recorded wall time."""
    wall = WALLS[(target.id, threads)]
    return RunResult(
        run_id=f"{target.id}-{threads}",
        workload="sum_squares",
        target=target,
        threads=threads,
        size=10_000_000,
        executor="thread",
        scaling="weak",
        status="ok",
        wall_s=wall,
        harness_wall_s=wall + 0.03,
        cpu_user_s=wall * threads,
        cpu_sys_s=0.0,
        effective_cores=float(threads),
        ok=True,
        exit_code=0,
        signal=None,
        noisy=False,
        gil_enabled_start=False,
        gil_enabled_end=False,
        gil_reenabled=False,
        gil_reenabled_by=None,
        malformed_lines=0,
        truncated_lines=0,
        stderr_tail="",
        message="ok",
    )


def history_with_sweep() -> SessionHistory:
    history = SessionHistory()
    runs = [make_run(t, n) for t in (PY313T, RUST) for n in (1, 2)]
    history.add_sweep(summarize("sum_squares", "weak", runs))
    return history


class ScreenApp(App[None]):
    """Something recognisable on screen to screenshot."""

    def compose(self) -> ComposeResult:
        yield Static("gildash export marker")


async def test_bundle_has_the_four_files_with_the_results(tmp_path: Path) -> None:
    app = ScreenApp()
    async with app.run_test(size=(80, 24)):
        folder = await export_bundle(app, history_with_sweep(), tmp_path / "talk")
    assert folder == tmp_path / "talk"
    assert sorted(p.name for p in folder.iterdir()) == sorted(BUNDLE_FILES)
    svg = (folder / "screen.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "marker" in svg
    rows = list(csv.DictReader(io.StringIO((folder / "results.csv").read_text(encoding="utf-8"))))
    assert [(r["target"], r["threads"]) for r in rows] == [
        ("py3.13t", "1"),
        ("py3.13t", "2"),
        ("rust", "1"),
        ("rust", "2"),
    ]
    assert float(rows[1]["median"]) == pytest.approx(0.865)
    doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert doc["workload"] == "sum_squares" and len(doc["points"]) == 4 and len(doc["runs"]) == 4
    md = (folder / "results.md").read_text(encoding="utf-8")
    assert "| py3.13t | 2 |" in md


async def test_second_export_gets_a_new_folder_and_leaves_the_first_alone(tmp_path: Path) -> None:
    app = ScreenApp()
    history = history_with_sweep()
    async with app.run_test(size=(80, 24)):
        first = await export_bundle(app, history, tmp_path / "talk")
        (first / "results.md").write_text("edited by hand\n", encoding="utf-8")
        second = await export_bundle(app, history, tmp_path / "talk")
        third = await export_bundle(app, history, tmp_path / "talk")
    assert (first.name, second.name, third.name) == ("talk", "talk-2", "talk-3")
    assert (first / "results.md").read_text(encoding="utf-8") == "edited by hand\n"
    assert all(sorted(p.name for p in f.iterdir()) == sorted(BUNDLE_FILES) for f in (second, third))


async def test_default_folder_is_under_data_dir_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    app = ScreenApp()
    async with app.run_test(size=(80, 24)):
        a = await export_bundle(app, SessionHistory(), clock=lambda: 1_700_000_000.0)
        b = await export_bundle(app, SessionHistory(), clock=lambda: 1_700_000_000.0)
    assert a.parent == tmp_path / "gildash" / "exports"
    assert a == default_folder(lambda: 1_700_000_000.0)
    assert b.name == a.name + "-2"
    # An empty session still exports valid (empty) results.
    assert json.loads((a / "results.json").read_text(encoding="utf-8"))["runs"] == []


async def test_explicit_sweep_wins_over_history(tmp_path: Path) -> None:
    partial = summarize("primes", "strong", [make_run(RUST, 1)])
    app = ScreenApp()
    async with app.run_test(size=(80, 24)):
        folder = await export_bundle(app, history_with_sweep(), tmp_path / "live", sweep=partial)
    doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert doc["workload"] == "primes" and len(doc["points"]) == 1


def test_new_folder_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("not a folder", encoding="utf-8")
    created = new_folder(tmp_path / "x")
    assert created.name == "x-2" and created.is_dir()
    assert (tmp_path / "x").read_text(encoding="utf-8") == "not a folder"
