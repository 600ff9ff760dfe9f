"""recording: write during a real run, read back, tolerate damage, replay with the Run interface."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gildash.engine.model import (
    CoreSampleTaken,
    EventReceived,
    RunFinished,
    RunSpec,
    RunStarted,
    SampleTaken,
    StderrReceived,
    Target,
)
from gildash.engine.recording import (
    Recorder,
    RecordingError,
    ReplayRun,
    read_recording,
    result_from_json,
    target_from_json,
    to_json,
)
from gildash.engine.runner import execute

FIXTURES = Path(__file__).parent / "fixtures"
PY = Target(id="py", label="test python", executable=sys.executable, kind="python", env=(("A", "1"),))


async def _record(path: Path, spec: RunSpec) -> None:
    recorder = Recorder(path)
    try:
        await execute(
            spec, recorder=recorder, noise_check=False, sample_interval=0.05, core_sample_interval=0.05
        )
    finally:
        recorder.close()


async def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    spec = RunSpec(target=PY, workload="sum_squares", threads=2, size=1_000_000)
    await _record(path, spec)
    ft = Target(
        id="ft", label="ft", executable=sys.executable, kind="python", free_threaded=True, gil_enabled=False
    )
    await _record(
        path, RunSpec(target=ft, workload="custom", cmd=(sys.executable, str(FIXTURES / "gil_warning.py")))
    )
    first_line = json.loads(path.read_text().splitlines()[0])
    assert first_line["gildash_recording"] == 1
    rec = read_recording(path)
    assert rec.skipped == 0 and rec.errors == () and len(rec.runs) == 2
    run = rec.runs[0]
    assert run.complete and run.spec == spec and run.result.status == "ok"
    assert run.result.recording == str(path) and run.result.target == PY
    kinds = {type(u) for _, u in run.items}
    assert {EventReceived, SampleTaken, CoreSampleTaken} <= kinds
    assert rec.runs[1].result.gil_reenabled_by == "fake_ext"
    assert any(isinstance(u, StderrReceived) for _, u in rec.runs[1].items)


def test_serialisation_helpers() -> None:
    assert target_from_json(json.loads(json.dumps(to_json(PY)))) == PY
    with pytest.raises(TypeError):
        to_json({"not": "a dataclass"})


async def test_truncated_recording_is_reconstructed(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    await _record(path, RunSpec(target=PY, workload="sum_squares", threads=2, size=500_000))
    lines = path.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["kind"] == "result"
    full = read_recording(path).runs[0].result
    cut = tmp_path / "cut.jsonl"
    # The write of the result record died half-way, and one sample record in the middle is garbled.
    body = lines[:-1]
    garble = next(i for i, line in enumerate(body) if '"kind":"sample"' in line)
    body[garble] = "{garbage\n"
    body.append(lines[-1][: len(lines[-1]) // 2])
    cut.write_text("".join(body))
    rec = read_recording(cut)
    assert rec.skipped == 2 and len(rec.runs) == 1
    result = rec.runs[0].result
    assert result.complete is False and "incomplete" in result.message
    assert result.status == "ok" and result.wall_s == full.wall_s  # the summary line survived
    assert result.worker_durations == full.worker_durations
    assert result_from_json(json.loads(json.dumps(to_json(full)))) == full


def test_refuses_to_overwrite_foreign_files(tmp_path: Path) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("precious\n")
    with pytest.raises(RecordingError, match="not a gildash recording"):
        Recorder(foreign)
    assert foreign.read_text() == "precious\n"
    with pytest.raises(RecordingError):
        read_recording(foreign)
    with pytest.raises(RecordingError):
        read_recording(tmp_path / "missing.jsonl")


async def test_replay_has_the_run_interface(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    await _record(path, RunSpec(target=PY, workload="sum_squares", threads=2, size=500_000))
    recorded = read_recording(path).runs[0]
    replay = ReplayRun(recorded, speed=0)
    updates = [u async for u in replay.updates()]
    assert isinstance(updates[0], RunStarted) and updates[0].run_id == recorded.run_id
    assert isinstance(updates[-1], RunFinished) and updates[-1].result == recorded.result
    assert len(updates) == len(recorded.items) + 2
    stopped = ReplayRun(recorded, speed=0.01)
    stopped.pause(True)
    stopped.stop()
    updates = [u async for u in stopped.updates()]
    assert isinstance(updates[-1], RunFinished) and len(updates) == 2
