"""`gildash sweep` and `gildash export`: argument checks, exit codes, output shapes.

The engine core is replaced by fakes injected into sys.modules (no process is spawned) except in
the slow integration tests at the end, which run the real thing through gildash.cli.main.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from test_sweep import make_run, make_target

from gildash.cli import argtypes
from gildash.cli import export as export_command
from gildash.cli import sweep as sweep_command
from gildash.engine import runner as real_runner
from gildash.engine.model import RunResult, RunSpec, Target


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gildash")
    register_into = parser.add_subparsers(dest="command", required=True)
    sweep_command.register(register_into)
    export_command.register(register_into)
    return parser


def _main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    result: int = args.func(args)
    return result


@dataclass
class FakeEngine:
    """Stands in for interpreters/runner/recording: records what the CLI asked for."""

    targets: list[Target] = field(default_factory=lambda: [make_target("py3.11"), make_target("py3.13t")])
    calls: list[tuple[RunSpec, dict[str, Any]]] = field(default_factory=list)
    recorders: list[Any] = field(default_factory=list)
    fail_threads: int | None = None
    interrupt_at: int | None = None
    disk_full_after: int | None = None
    """The fake recorder stops writing results after this many (as a full disk does)."""


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    from gildash.engine import interpreters

    def discover_targets(config_path: Path | None = None, *, include_rust: bool = True) -> list[Target]:
        return list(fake.targets) + ([make_target("rust")] if include_rust else [])

    monkeypatch.setattr(interpreters, "discover_targets", discover_targets)

    async def execute(spec: RunSpec, **kw: Any) -> RunResult:
        fake.calls.append((spec, kw))
        if fake.interrupt_at is not None and len(fake.calls) == fake.interrupt_at:
            raise KeyboardInterrupt
        status = "failed" if spec.threads == fake.fail_threads else "ok"
        result = make_run(spec.target.id, spec.threads, 1.0, status=status, scaling="weak")
        if kw.get("recorder") is not None:
            kw["recorder"].result(result.run_id, result)  # as the runner records every result
        return result

    class Recorder:
        def __init__(self, path: Path) -> None:
            self.path = path
            self.runs_recorded = 0
            fake.recorders.append(self)

        def result(self, run_id: str, result: RunResult) -> None:
            if fake.disk_full_after is None or self.runs_recorded < fake.disk_full_after:
                self.runs_recorded += 1

    runner = types.ModuleType("gildash.engine.runner")
    runner.execute = execute  # type: ignore[attr-defined]
    runner.MAX_SWITCH_INTERVAL_S = real_runner.MAX_SWITCH_INTERVAL_S  # type: ignore[attr-defined]
    recording = types.ModuleType("gildash.engine.recording")
    recording.Recorder = Recorder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gildash.engine.runner", runner)
    monkeypatch.setitem(sys.modules, "gildash.engine.recording", recording)
    return fake


# ----------------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("text", ["0", "1025", "a", "", ",", "-1"])
def test_bad_thread_lists_are_rejected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        argtypes.thread_list(text)


def test_thread_list_is_sorted_and_distinct() -> None:
    assert argtypes.thread_list("4, 1,2,4,1024") == (1, 2, 4, 1024)


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "sum_squares", "--threads", "0"],
        ["sweep", "sum_squares", "--repeat", "0"],
        ["sweep", "sum_squares", "--timeout", "-1"],
        ["sweep", "sum_squares", "--executor", "fork"],
        ["export", "x.jsonl", "--format", "xml"],
        ["sweep", "sum_squares", "--switch-interval", "0"],
        ["sweep", "sum_squares", "--switch-interval", "1.5"],
        ["sweep", "sum_squares", "--switch-interval", "nan"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- sweep


def test_sweep_json_shape(engine: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = _main(["sweep", "sum_squares", "--targets", "py3.11,py3.13t", "--threads", "1,2,4", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    doc = json.loads(out)  # exactly one JSON object on stdout
    assert set(doc) == {"workload", "scaling", "points", "fits", "warnings", "runs"}
    assert doc["workload"] == "sum_squares" and doc["scaling"] == "weak"
    assert [(p["target"], p["threads"]) for p in doc["points"]] == [
        (t, n) for t in ("py3.11", "py3.13t") for n in (1, 2, 4)
    ]
    assert set(doc["fits"]) == {"py3.11", "py3.13t"}
    assert set(doc["fits"]["py3.11"]) == {"serial_fraction", "points", "rmse"}
    assert len(doc["runs"]) == 2 * 3 * 3  # default --repeat 3
    assert "recorded 18 run(s)" in err
    # Every run got the same recorder, which writes under data_dir()/recordings by default.
    (recorder,) = engine.recorders
    assert all(kw == {"recorder": recorder} for _, kw in engine.calls)
    assert recorder.path.parent == tmp_path / "data" / "gildash" / "recordings"
    assert recorder.path.name.endswith("-sweep-sum_squares.jsonl")


def test_sweep_passes_plan_parameters(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = tmp_path / "mine.jsonl"
    argv = ["sweep", "primes", "--targets", "py3.13t", "--threads", "2,1", "--repeat", "1", "--warmup"]
    argv += ["--size", "77", "--executor", "process", "--timeout", "3", "--record", str(record)]
    assert _main(argv) == 0
    specs = [spec for spec, _ in engine.calls]
    assert [(s.threads, s.size, s.executor, s.timeout_s) for s in specs] == [
        (2, 77, "process", 3.0),
        (1, 77, "process", 3.0),
        (2, 77, "process", 3.0),
    ]
    assert engine.recorders[0].path == record
    out = capsys.readouterr().out
    assert "target" in out and "speedup" in out and "py3.13t" in out


def test_sweep_passes_the_switch_interval(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", "sum_squares", "--targets", "py3.11,py3.13t", "--threads", "1,2", "--repeat", "1"]
    assert _main([*argv, "--switch-interval", "0.002"]) == 0
    assert [spec.switch_interval_s for spec, _ in engine.calls] == [0.002] * 4
    engine.calls.clear()
    assert _main(argv) == 0
    assert [spec.switch_interval_s for spec, _ in engine.calls] == [None] * 4


def test_sweep_says_how_many_runs_reached_the_recording(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.disk_full_after = 2
    assert _main(["sweep", "sum_squares", "--targets", "py3.11", "--threads", "1,2", "--repeat", "2"]) == 0
    err = capsys.readouterr().err
    assert "recorded 2 run(s) to " in err and "2 finished run(s) are not in it" in err
    assert "recorded 4 run(s)" not in err


def _timed_run(target_id: str, threads: int, overlap: float, slice_ms: float, handoffs: float) -> RunResult:
    return make_run(
        target_id, threads, 1.0, parallel_overlap=overlap, median_slice_ms=slice_ms, handoffs_per_s=handoffs
    )


def test_sweep_table_shows_the_timeline_figures_of_timed_runs() -> None:
    from gildash.cli.report import render_sweep_text
    from gildash.engine.sweep import aggregate

    runs = [_timed_run("py3.13t", 1, 0.0, 4.0, 10.0), _timed_run("py3.13t", 2, 0.9, 12.5, 3.0)]
    runs.append(_timed_run("py3.13t", 2, 0.7, 11.5, 5.0))  # a second repeat: the point shows the medians
    text = render_sweep_text(aggregate("sum_squares", runs))
    header = next(line for line in text.splitlines() if line.startswith("target"))
    assert "overlap" in header and "median slice" in header and "hand-offs/s" in header
    row = next(line for line in text.splitlines() if line.startswith("py3.13t") and " 2 " in line)
    assert row.split()[-5:] == ["80", "%", "12.00", "ms", "4"]
    untimed = render_sweep_text(aggregate("sum_squares", [make_run("py3.11", 1, 1.0)]))
    assert "overlap" not in untimed and "median slice" not in untimed


def _fill_recordings(folder: Path, sizes_mb: Sequence[float]) -> list[Path]:
    """Old recordings in folder, oldest first, of the given sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i, mb in enumerate(sizes_mb):
        path = folder / f"2020010{i + 1}-000000-old.jsonl"
        path.write_bytes(b"x" * int(mb * 1024 * 1024))
        os.utime(path, (1_600_000_000 + i * 60, 1_600_000_000 + i * 60))
        made.append(path)
    return made


def test_sweep_prunes_the_default_folder_to_its_cap(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "gildash").mkdir(parents=True)
    (tmp_path / "config" / "gildash" / "config.toml").write_text("[recordings]\nmax_mb = 1\n")
    oldest, newer = _fill_recordings(tmp_path / "data" / "gildash" / "recordings", [0.6, 0.6])
    argv = ["sweep", "sum_squares", "--targets", "py3.11", "--threads", "1", "--repeat", "1"]
    assert _main([*argv, "--record", str(tmp_path / "mine.jsonl")]) == 0
    assert oldest.exists() and newer.exists()  # --record FILE: the default folder is not touched
    capsys.readouterr()
    assert _main(argv) == 0
    assert not oldest.exists() and newer.exists()
    assert "removed 1 old recording(s) (0.6 MB)" in capsys.readouterr().err


def test_sweep_text_table_and_failure_exit_1(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.fail_threads = 2
    code = _main(["sweep", "sum_squares", "--targets", "py3.11", "--threads", "1,2", "--repeat", "1"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("target"))
    assert header.split()[:4] == ["target", "threads", "median", "min"]
    assert any(line.startswith("py3.11") and line.rstrip().endswith("FAILED") for line in lines)
    assert any(line.startswith("warning: py3.11×2: 1 of 1 runs did not pass") for line in lines)


def test_ctrl_c_prints_the_partial_table_and_exits_130(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.interrupt_at = 3
    code = _main(
        ["sweep", "sum_squares", "--targets", "py3.11", "--threads", "1,2", "--repeat", "2", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 130
    doc = json.loads(out)
    assert len(doc["runs"]) == 2
    assert "interrupted after 2 of 4 runs" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "sum_squares", "--targets", "py9.9"], "gildash: error: unknown target 'py9.9'"),
        (
            ["sweep", "no_such_workload", "--targets", "py3.11"],
            "gildash: error: unknown workload 'no_such_workload'",
        ),
        (["sweep", "sum_squares", "--targets", " , "], "gildash: error: --targets is empty"),
    ],
)
def test_sweep_usage_errors_are_one_line(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert _main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert engine.calls == []


def test_unavailable_target_is_a_usage_error(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.targets.append(
        Target(id="py3.14t", label="x", executable="", kind="python", available=False, reason="not installed")
    )
    assert _main(["sweep", "sum_squares", "--targets", "py3.14t"]) == 2
    err = capsys.readouterr().err
    assert "unavailable" in err and "not installed" in err and err.count("\n") == 1


# -------------------------------------------------------------------------------------------- export


@dataclass
class _Recorded:
    result: RunResult


@dataclass
class _Recording:
    runs: list[_Recorded]
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def recording_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "rec.jsonl"
    path.write_text("{}\n")
    rec = _Recording(
        runs=[
            _Recorded(make_run("py3.11", 1, 1.5)),
            _Recorded(make_run("py3.11", 2, None, status="stopped", complete=False)),
        ],
        skipped=2,
        errors=["run r9: no start record"],
    )
    module = types.ModuleType("gildash.engine.recording")
    module.read_recording = lambda p: rec  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gildash.engine.recording", module)
    return path


def test_export_to_stdout_reports_problems_on_stderr(
    recording_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(["export", str(recording_file), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert [r["complete"] for r in doc["runs"]] == [True, False]
    err_lines = err.splitlines()
    assert len(err_lines) == 3
    assert err_lines[0].startswith("gildash: skipped 2 corrupt or unusable line(s)")
    assert err_lines[1] == "gildash: 1 run(s) could not be rebuilt (first: run r9: no start record)"
    assert err_lines[2].startswith("gildash: 1 run(s) incomplete")


def test_export_never_overwrites_without_force(
    recording_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "table.csv"
    assert _main(["export", str(recording_file), "--output", str(out)]) == 0
    first = out.read_text()
    assert first.startswith("command,mean,stddev,median,min,max,user,system,times,")  # csv from the suffix
    out.write_text("precious")
    capsys.readouterr()
    assert _main(["export", str(recording_file), "--output", str(out), "--format", "md"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gildash: error:") and "--force" in err and err.count("\n") == 1
    assert out.read_text() == "precious"
    assert _main(["export", str(recording_file), "--output", str(out), "--format", "md", "--force"]) == 0
    assert out.read_text().splitlines()[2].startswith("| command |")


def test_export_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _main(["export", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gildash: error: no such recording") and err.count("\n") == 1


# --------------------------------------------------------------------------------- real engine (slow)


def _real_engine() -> Any:
    pytest.importorskip("gildash.engine.runner")
    pytest.importorskip("gildash.engine.recording")
    return pytest.importorskip("gildash.cli")


@pytest.mark.slow
def test_real_tiny_sweep_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = _real_engine()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    record = tmp_path / "rec.jsonl"
    argv = ["sweep", "sum_squares", "--targets", sys.executable, "--threads", "1,2", "--repeat", "1"]
    code = cli.main([*argv, "--size", "20000", "--json", "--record", str(record)])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"workload", "scaling", "points", "fits", "warnings", "runs"}
    assert doc["workload"] == "sum_squares" and doc["scaling"] == "weak"
    assert [p["threads"] for p in doc["points"]] == [1, 2]
    assert all(p["ok"] and p["median"] > 0 and len(p["times"]) == 1 for p in doc["points"])
    assert doc["points"][0]["speedup"] == pytest.approx(1.0)
    assert doc["fits"] == {}  # two thread counts are too few for a fit
    assert [r["status"] for r in doc["runs"]] == ["ok", "ok"]

    assert cli.main(["export", str(record), "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("command,mean,")
    assert len(rows) == 3


@pytest.mark.slow
def test_real_sweep_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    _real_engine()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    argv = [sys.executable, "-m", "gildash", "sweep", "sum_squares", "--targets", sys.executable]
    argv += ["--threads", "1", "--repeat", "20", "--size", "3000000"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        parent = psutil.Process(proc.pid)
        children: list[psutil.Process] = []
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:
            children = parent.children(recursive=True)
            time.sleep(0.05)
        assert children, "the sweep never started a workload"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted after" in err
    assert "target" in out  # the partial table
    gone = psutil.wait_procs(children, timeout=5)[1] == []
    assert gone, "a workload process outlived the sweep"
