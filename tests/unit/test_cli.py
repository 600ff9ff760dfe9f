"""gildash CLI: one-line usage errors with exit 2, `run --json`, targets, recordings, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gildash.cli import main
from gildash.engine.recording import read_recording

RUN_KEYS = {
    "workload", "target", "threads", "wall_s", "cpu_user_s", "cpu_sys_s", "effective_cores", "ok",
    "exit_code", "noisy", "gil_reenabled", "status", "message", "run_id", "recording",
}  # fmt: skip


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "data"


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("gildash: error: ")
    return err[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "no_such_workload"], "sum_squares"),
        (["run", "sum_squares", "--target", "py0.1"], "known:"),
        (["run", "sum_squares", "--target", "/bin/true"], "not a Python"),
        (["run", "sum_squares", "--target", "/no/such/python"], "/no/such/python"),
        (["run", "sum_squares", "--threads", "0"], "between 1 and 1024"),
        (["run", "sum_squares", "--threads", "2000"], "between 1 and 1024"),
        (["run", "sum_squares", "--size", "0"], "at least 1"),
        (["run", "sum_squares", "--executor", "fiber"], "invalid choice"),
        (["run"], "missing WORKLOAD"),
        (["run", "sum_squares", "--cmd", "x"], "not both"),
        (["run", "--cmd", "definitely-not-a-command {threads}"], "command not found"),
        (["run", "--cmd", "'unclosed"], "cannot split"),
        (["run", "sum_squares", "--config", "/no/such/config.toml"], "no such config"),
        (["replay", "/no/such/recording.jsonl"], "no such recording"),
        (["bogus-command"], "invalid choice"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert words in _one_error_line(capsys)


def test_python_too_old(capsys: pytest.CaptureFixture[str]) -> None:
    old = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")
    if not old.exists():
        pytest.skip("no pyenv Python 3.8")
    assert main(["run", "sum_squares", "--target", str(old)]) == 2
    assert "too old" in _one_error_line(capsys)


def test_run_json(capsys: pytest.CaptureFixture[str], data_home: Path) -> None:
    code = main(["run", "sum_squares", "--threads", "2", "--size", "200000", "--json", "--no-noise-check"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)  # exactly one JSON object on stdout
    assert RUN_KEYS <= set(data)
    assert {"id", "executable", "version", "free_threaded", "gil_enabled"} <= set(data["target"])
    assert data["ok"] is True and data["status"] == "ok" and data["threads"] == 2 and data["exit_code"] == 0
    recording = Path(data["recording"])
    assert recording.parent == data_home / "gildash" / "recordings" and str(recording) in err
    assert read_recording(recording).runs[0].result.run_id == data["run_id"]


def test_run_human_report_and_failure_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "mine.jsonl"
    assert main(["run", "sum_squares", "--threads", "1", "--size", "1000", "--record", str(rec)]) == 0
    out = capsys.readouterr().out
    assert "sum_squares on" in out and "effective" in out and str(rec) in out
    fail = Path(__file__).parent / "fixtures" / "fail.py"
    assert main(["run", "--cmd", f"{sys.executable} {fail}", "--threads", "1", "--record", str(rec)]) == 1
    assert "crashed" in capsys.readouterr().out
    assert len(read_recording(rec).runs) == 2  # appended, never overwritten


def test_record_refuses_foreign_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("keep me\n")
    assert main(["run", "sum_squares", "--size", "10", "--record", str(foreign)]) == 2
    assert "refusing" in _one_error_line(capsys)
    assert foreign.read_text() == "keep me\n"


def test_targets_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--json"]) == 0
    targets = json.loads(capsys.readouterr().out)
    assert any(t["source"] == "current" for t in targets)
    assert all({"id", "executable", "available"} <= set(t) for t in targets)


def test_help_is_fast_and_clean() -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gildash", "--help"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and "run" in proc.stdout and "targets" in proc.stdout
    assert time.monotonic() - start < 3.0  # generous: the budget is 0.3 s, CI machines are slow


def test_ctrl_c_stops_the_run_and_keeps_the_recording(tmp_path: Path) -> None:
    rec = tmp_path / "int.jsonl"
    hang = Path(__file__).parent / "fixtures" / "hang.py"
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gildash", "run", "--cmd", f"{sys.executable} {hang}", "--threads", "1",
         "--no-noise-check", "--record", str(rec), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "pids" not in (rec.read_text() if rec.exists() else ""):
        time.sleep(0.05)
    pids = [
        json.loads(json.loads(line)["raw"])["pids"] for line in rec.read_text().splitlines() if "pids" in line
    ][0]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert json.loads(out)["status"] == "stopped"
    assert "Traceback" not in err
    time.sleep(0.1)
    import psutil

    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert read_recording(rec).runs[0].result.status == "stopped"


def test_single_thread_reports_the_one_thread_it_ran(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "single_thread", "--threads", "2", "--size", "2000", "--no-noise-check"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["threads"] == 1 and data["requested_threads"] == 2
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "1 thread," in out and "2 threads" not in out  # the status line too
    assert "single-threaded by design" in out and "asked for 2" in out


@pytest.mark.slow
def test_http_server_reports_requests_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "http_server", "--threads", "2", "--no-noise-check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["headline"]["unit"] == "requests/s"
    assert data["headline"]["value"] == pytest.approx(data["metrics"]["requests_per_s"])


def test_demo_honours_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gildash.ui.app import GildashApp

    def never(self: GildashApp, *args: object, **kwargs: object) -> int:
        raise AssertionError("the demo started despite a broken --config")

    monkeypatch.setattr(GildashApp, "run", never)
    missing = tmp_path / "missing.toml"
    assert main(["--config", str(missing), "demo"]) == 2
    assert "no such config" in _one_error_line(capsys)
    assert main(["demo", "--config", str(missing)]) == 2
    assert "no such config" in _one_error_line(capsys)


@pytest.mark.slow
def test_export_of_a_sweep_recording_aggregates_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "sweep.jsonl"
    argv = ["sweep", "sum_squares", "--targets", sys.executable, "--threads", "1,2", "--repeat", "2"]
    assert main([*argv, "--size", "20000", "--warmup", "--record", str(record)]) == 0
    capsys.readouterr()
    assert main(["export", str(record), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["threads"] for p in doc["points"]] == [1, 2]
    assert [len(p["times"]) for p in doc["points"]] == [2, 2]  # the warm-up is not a repeat
    assert doc["points"][0]["speedup"] == pytest.approx(1.0)
    assert all(r["speedup"] is not None for r in doc["runs"] if not r["warmup"])
    assert sum(r["warmup"] for r in doc["runs"]) == 1
    assert main(["export", str(record), "--format", "md"]) == 0
    assert "| target | threads |" in capsys.readouterr().out


def test_docs_say_what_demo_does() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = docs.split("## `gildash demo`", 1)[1].split("\n## ", 1)[0]
    assert "no benchmark runs" not in section and "bundled recording" not in section
    assert "real benchmarks" in section and "--config" in section
