"""The CLI over the engine's newer pieces: --switch-interval, timeline figures in the run report, trace
export, machine facts (`gildash machine`, RunResult.machine, warnings), the recordings cap and replay's fast
index. Real runs are tiny (sum_squares, a few thousand numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_sweep import make_run

from gildash.cli import main
from gildash.cli.report import badges, render_report
from gildash.engine import recording as recording_module
from gildash.engine.machine import MachineFacts, read_machine
from gildash.engine.model import RunSpec
from gildash.engine.recording import read_recording

TINY = ["--size", "20000", "--no-noise-check"]


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture(scope="module")
def timed_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of one real 2-thread sum_squares run (the workload times its workers' slices)."""
    home = tmp_path_factory.mktemp("timed")
    path = home / "timed.jsonl"
    env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
    argv = [sys.executable, "-m", "gildash", "run", "sum_squares", "--threads", "2", *TINY]
    proc = subprocess.run([*argv, "--record", str(path)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("gildash: error: ")
    return err[0]


# --- --switch-interval ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "sum_squares", "--switch-interval", "0"], "--switch-interval must be in (0, 1] seconds"),
        (["run", "sum_squares", "--switch-interval", "-0.01"], "--switch-interval must be in (0, 1]"),
        (["run", "sum_squares", "--switch-interval", "1.5"], "--switch-interval must be in (0, 1]"),
        (["run", "sum_squares", "--switch-interval", "inf"], "--switch-interval must be in (0, 1]"),
        (["run", "sum_squares", "--switch-interval", "nan"], "--switch-interval must be in (0, 1]"),
        (["run", "sum_squares", "--switch-interval", "soon"], "invalid number of seconds 'soon'"),
        (["sweep", "sum_squares", "--switch-interval", "2"], "--switch-interval must be in (0, 1]"),
        (
            ["run", "--cmd", f"{sys.executable} -c pass", "--switch-interval", "0.01"],
            "not to a custom command",
        ),
    ],
)
def test_bad_switch_interval_is_one_line_exit_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert words in _one_error_line(capsys)


def test_run_switch_interval_reaches_the_workload_and_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "sum_squares", "--threads", "2", "--switch-interval", "0.002", *TINY]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["switch_interval_s"] == pytest.approx(0.002)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "switch     2 ms interval" in out
    # The workload timed its workers: the report gives the timeline figures the JSON carries.
    assert "timeline   overlap " in out and "median slice " in out and "hand-offs/s" in out


# --- timeline figures in the run report -------------------------------------------------------------


def test_run_report_shows_overlap_median_slice_and_handoffs() -> None:
    timed = make_run(
        "py3.13t",
        2,
        1.0,
        parallel_overlap=0.42,
        median_slice_ms=3.5,
        handoffs_per_s=151.2,
        switch_interval_s=0.005,
    )
    text = render_report(timed)
    assert "timeline   overlap 42 %, median slice 3.50 ms, 151 hand-offs/s" in text
    assert "switch     5 ms interval" in text
    untimed = render_report(make_run("py3.11", 2, 1.0))
    assert "timeline" not in untimed and "switch " not in untimed


# --- export --format trace ----------------------------------------------------------------------------


def test_export_trace_holds_the_workers_slices(
    timed_recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["export", str(timed_recording), "--format", "trace"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    events = doc["traceEvents"]
    run_id = read_recording(timed_recording).runs[0].result.run_id
    assert doc["otherData"]["runs"] == [run_id]
    assert any(e["ph"] == "M" and e["name"] == "process_name" for e in events)
    slices = [e for e in events if e["ph"] == "X" and e["cat"] == "slice"]
    assert slices and {e["tid"] for e in slices} <= {1, 2}
    assert err == ""
    # A .trace.json output name implies the format; never over an existing file without --force.
    target = tmp_path / "run.trace.json"
    assert main(["export", str(timed_recording), "-o", str(target)]) == 0
    assert json.loads(target.read_text())["traceEvents"] == events
    capsys.readouterr()
    assert main(["export", str(timed_recording), "-o", str(target)]) == 2
    assert "--force" in _one_error_line(capsys)


def test_export_trace_of_an_untimed_run_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "custom.jsonl"
    quiet = Path(__file__).parent / "fixtures" / "fail.py"
    main(
        [
            "run",
            "--cmd",
            f"{sys.executable} {quiet}",
            "--threads",
            "1",
            "--no-noise-check",
            "--record",
            str(rec),
        ]
    )
    capsys.readouterr()
    assert main(["export", str(rec), "--format", "trace"]) == 0
    out, err = capsys.readouterr()
    assert not [e for e in json.loads(out)["traceEvents"] if e["ph"] == "X"]
    assert "timed itself" in err and err.count("\n") == 1


def test_export_rejects_an_unknown_format(timed_recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(timed_recording), "--format", "perfetto"]) == 2
    assert "invalid choice" in _one_error_line(capsys)


# --- machine facts ----------------------------------------------------------------------------------------


def test_machine_command_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["machine"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("CPU model")
    assert f"logical CPUs          {os.cpu_count()}" in out and "governor" in out and "load average" in out
    assert main(["machine", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["logical_cores"] == os.cpu_count()
    assert {"physical_cores", "smt_per_core", "usable_cpus", "cpus", "load_average", "python", "os"} <= set(
        data
    )


def test_every_run_carries_the_machine_facts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "m.jsonl"
    assert main(["run", "sum_squares", "--threads", "1", *TINY, "--json", "--record", str(rec)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["machine"]["logical_cores"] == os.cpu_count()
    assert data["machine"]["taken_at"] <= data["started_at"]  # read before the spawn
    recorded = read_recording(rec).runs[0].result.machine
    assert isinstance(recorded, MachineFacts) and recorded.logical_cores == os.cpu_count()


def _machine(usable: int) -> MachineFacts:
    facts = read_machine(affinity=tuple(range(usable)))
    return MachineFacts(**{**facts.__dict__, "cpus": (), "load_average": None})


def test_report_lists_the_machine_warnings_for_the_runs_thread_count() -> None:
    oversubscribed = make_run("py3.13t", 4, 1.0, machine=_machine(2))
    assert any("4 threads on 2 usable CPUs: oversubscribed" in b for b in badges(oversubscribed))
    assert "oversubscribed" in render_report(oversubscribed)
    assert not any("oversubscribed" in b for b in badges(make_run("py3.13t", 2, 1.0, machine=_machine(2))))


def test_oversubscribed_run_report_warns(capsys: pytest.CaptureFixture[str]) -> None:
    threads = len(os.sched_getaffinity(0)) + 1
    assert main(["run", "sum_squares", "--threads", str(threads), *TINY]) == 0
    assert f"{threads} threads on {threads - 1} usable CPU" in capsys.readouterr().out


# --- the recordings cap -------------------------------------------------------------------------------------


def _cap(xdg: Path, max_mb: int) -> None:
    (xdg / "config" / "gildash").mkdir(parents=True, exist_ok=True)
    (xdg / "config" / "gildash" / "config.toml").write_text(f"[recordings]\nmax_mb = {max_mb}\n")


def _old_recordings(xdg: Path, count: int, mb: float = 0.6) -> list[Path]:
    folder = xdg / "data" / "gildash" / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        path = folder / f"2020010{i + 1}-000000-old.jsonl"
        path.write_bytes(b"x" * int(mb * 1024 * 1024))
        os.utime(path, (1_600_000_000 + i * 60, 1_600_000_000 + i * 60))
        made.append(path)
    return made


def test_run_prunes_the_default_recordings_folder(xdg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cap(xdg, 1)
    oldest, newer = _old_recordings(xdg, 2)
    argv = ["run", "sum_squares", "--threads", "1", *TINY]
    assert main([*argv, "--record", str(xdg / "mine.jsonl")]) == 0
    assert oldest.exists() and newer.exists()  # --record FILE: the default folder is left alone
    capsys.readouterr()
    assert main(argv) == 0
    assert not oldest.exists() and newer.exists()
    assert "removed 1 old recording(s) (0.6 MB)" in capsys.readouterr().err


def test_zero_cap_keeps_every_recording(xdg: Path) -> None:
    _cap(xdg, 0)
    old = _old_recordings(xdg, 3)
    assert main(["run", "sum_squares", "--threads", "1", *TINY]) == 0
    assert all(p.exists() for p in old)


def test_broken_cap_is_one_line_before_the_run(xdg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (xdg / "config" / "gildash").mkdir(parents=True)
    (xdg / "config" / "gildash" / "config.toml").write_text("[recordings]\nmax_mb = -1\n")
    assert main(["run", "--cmd", f"{sys.executable} -c pass", "--threads", "1", "--no-noise-check"]) == 2
    assert "max_mb" in _one_error_line(capsys)


def test_dashboard_prunes_the_default_folder(
    xdg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gildash.ui.app import GildashApp

    started: list[Path | None] = []
    monkeypatch.setattr(GildashApp, "run", lambda self, *a, **k: started.append(self.sources.record_dir))
    _cap(xdg, 1)
    oldest, newer = _old_recordings(xdg, 2)
    assert main([]) == 0
    assert started == [xdg / "data" / "gildash" / "recordings"]
    assert not oldest.exists() and newer.exists()
    assert "removed 1 old recording(s)" in capsys.readouterr().err


def test_a_recordings_folder_that_cannot_be_sized_still_opens_the_dashboard(
    xdg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gildash.engine import retention
    from gildash.ui.app import GildashApp

    def unreadable(*_a: object, **_k: object) -> list[Path]:
        raise PermissionError("permission denied")

    started: list[bool] = []
    monkeypatch.setattr(GildashApp, "run", lambda self, *a, **k: started.append(True))
    monkeypatch.setattr(retention, "prune_default", unreadable)
    assert main([]) == 0  # the cap is housekeeping: a warning, never the session
    assert started == [True]
    assert "warning: cannot check the size of" in capsys.readouterr().err


def test_dashboard_start_holds_the_collector_off_and_the_cli_turns_it_back_on(
    xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from gildash.ui.app import GildashApp

    during: list[bool] = []
    monkeypatch.setattr(GildashApp, "run", lambda self, *a, **k: during.append(gc.isenabled()))
    assert gc.isenabled()
    assert main([]) == 0
    assert during == [False]  # while the app starts (the screen turns it on after its first frame)
    assert gc.isenabled()  # an app that never drew a frame leaves it on too


def test_docs_document_the_recordings_cap() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert "[recordings]" in docs and "max_mb" in docs
    assert "--switch-interval" in docs and "gildash machine" in docs and "--format trace" in docs


# --- replay -------------------------------------------------------------------------------------------------


def test_replay_speed_zero_is_refused(
    timed_recording: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gildash.ui import app

    shown: list[float] = []
    monkeypatch.setattr(app.GildashApp, "run", lambda self, *a, **k: shown.append(self.speed))
    assert main(["replay", str(timed_recording), "--speed", "0"]) == 2
    assert "--speed must be a factor > 0" in _one_error_line(capsys)
    assert shown == []  # never a replay at some other pace than the one asked for


def test_replay_opens_with_the_fast_index(
    timed_recording: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gildash.ui import app

    opened: list[Path] = []
    real_open = recording_module.open_recording

    def open_recording(path: Path) -> recording_module.Recording:
        opened.append(path)
        return real_open(path)

    def never(path: Path) -> recording_module.Recording:
        raise AssertionError("replay validated the whole file with read_recording")

    shown: list[float] = []
    # Small recordings are checked whole (every bad line counted at once); this one stands for a big one.
    monkeypatch.setattr(recording_module, "FULL_CHECK_BYTES", 0)
    monkeypatch.setattr(recording_module, "open_recording", open_recording)
    monkeypatch.setattr(recording_module, "read_recording", never)
    monkeypatch.setattr(app.GildashApp, "run", lambda self, *a, **k: shown.append(self.speed))
    assert main(["replay", str(timed_recording), "--speed", "4"]) == 0
    assert opened == [timed_recording] and shown == [4.0]  # indexed once, handed to the dashboard
    assert app.run_replay(timed_recording, 2.0) == 0
    assert opened == [timed_recording, timed_recording] and shown == [4.0, 2.0]


def test_flags_after_a_lone_dash_dash_go_to_the_workload(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "contention", "--threads", "1", "--size", "2000", "--json", "--no-noise-check"]
    assert main([*argv, "--", "--pattern", "dict", "--variant", "own"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["pattern"] == "dict" and out["metrics"]["variant"] == "own"
    assert main(["targets", "--", "--pattern", "dict"]) == 2  # only run and sweep pass flags on
    assert "only run and sweep" in capsys.readouterr().err


def test_sweep_calibrate_runs_each_target_at_its_calibrated_size(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from gildash.engine import calibrate

    async def fake(spec: RunSpec, run: object) -> tuple[calibrate.Calibration, bool]:
        return calibrate.Calibration("k", spec.target.id, spec.workload, 4321, 0.5, 3, 0.0), True

    monkeypatch.setattr(calibrate, "cached_calibration", fake)
    record = tmp_path / "s.jsonl"
    argv = ["sweep", "sum_squares", "--threads", "1", "--repeat", "1", "--size", "99", "--json"]
    assert main([*argv, "--record", str(record), "--calibrate", "--targets", "py3.11"]) in (0, 1)
    captured = capsys.readouterr()
    assert {r["size"] for r in json.loads(captured.out)["runs"]} == {4321}  # the calibrated size, not 99
    assert "calibrating py3.11 (sum_squares), 1 of 1" in captured.err


def test_reports_name_process_workers_as_processes() -> None:
    from dataclasses import replace

    from gildash.engine.digest import milestone
    from gildash.engine.model import StartEvent

    processes = replace(make_run("py3.11", 2, 1.0), executor="process")
    assert render_report(processes).splitlines()[0].count("2 processes, process executor") == 1
    start = StartEvent(0.0, "sum_squares", {"threads": 2, "executor": "process"}, "weak", 1, "cpython",
                       "3.11", "x", False, True, 2)  # fmt: skip
    assert "· 2 processes ·" in (milestone(start) or "")
