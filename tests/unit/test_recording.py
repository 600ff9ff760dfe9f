"""recording: write during a real run, read back, tolerate damage, replay with the Run interface."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gildash.engine.model import (
    CoreSample,
    EventReceived,
    MalformedLine,
    ProcSample,
    ProgressEvent,
    RunFinished,
    RunSpec,
    RunStarted,
    StderrReceived,
    Target,
)
from gildash.engine.protocol import parse_line
from gildash.engine.record_tap import RunTap
from gildash.engine.recording import (
    _ENCODER,
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
    assert {EventReceived, ProcSample, CoreSample} <= kinds
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


def test_batched_lines_are_on_disk_before_close_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path)
    try:
        recorder.run_start("r1", RunSpec(target=PY, workload="custom", cmd=("x",)), ("x",), 42, False, 1.0)
        recorder.lines(
            "r1",
            [
                (0.5, '{"event":"progress","t":0.1,"worker":0,"done":1,"total":2}', False),
                (0.5, '{"event":"progress","t":0.2,"worker":0,"done":2,"total":2}', False),
                (0.6, "x" * 10, True),
            ],
        )
        recorder.lines("r1", [])
        # Flushed by the batch write itself, not by close: a kill -9 now would lose nothing.
        on_disk = path.read_text().splitlines()
    finally:
        recorder.close()
    assert [json.loads(line).get("kind") for line in on_disk] == [None, "run_start", "line", "line", "line"]
    assert json.loads(on_disk[-1])["truncated"] is True and "truncated" not in json.loads(on_disk[-2])
    run = read_recording(path).runs[0]
    events = [u for _, u in run.items if isinstance(u, EventReceived)]
    assert [u.t for u in events] == [0.5, 0.5, 0.6]
    assert isinstance(events[0].event, ProgressEvent) and events[1].event == ProgressEvent(0.2, 0, 2, 2)
    assert isinstance(events[2].event, MalformedLine) and events[2].event.truncated
    assert run.result.truncated_lines == 1 and not run.complete


def test_batched_lines_come_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    items = [(0.25, 'caf\u00e9 "quoted" \\ {}', False), (1e-7, "\ufffd\x00", True)]
    with Recorder(path) as rec:
        rec.lines("r", items)
    records = [json.loads(line) for line in path.read_text().splitlines() if '"kind"' in line]
    assert [(r["t"], r["raw"], r.get("truncated", False)) for r in records] == items
    assert all(r["kind"] == "line" and r["run_id"] == "r" for r in records)
    assert "truncated" not in records[0]  # only truncated lines carry the flag


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**20)),
            st.text(max_size=40),
            st.booleans(),
        ),
        max_size=8,
    ),
    st.text(max_size=12),
)
def test_line_records_are_what_the_encoder_writes(items: list[tuple[float, str, bool]], run_id: str) -> None:
    # The fast path for a flood's lines writes byte for byte what encoding each record whole writes.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.jsonl"
        with Recorder(path) as rec:
            rec.lines(run_id, items)
        written = path.read_text().splitlines()[1:]
    expected = [
        _ENCODER.encode(
            {"kind": "line", "run_id": run_id, "t": t, "raw": raw, **({"truncated": True} if cut else {})}
        )
        for t, raw, cut in items
    ]
    assert written == expected


def test_protocol_1_recording_still_reads_and_replays() -> None:
    # written by the protocol 1 workloads and recorder, before slices existed
    rec = read_recording(FIXTURES / "recording_v1.jsonl")
    assert rec.skipped == 0 and rec.errors == () and len(rec.runs) == 1
    run = rec.runs[0]
    assert run.complete and run.result.status == "ok" and run.result.workload == "sum_squares"
    assert run.spec.switch_interval_s is None and run.timeline.tracks == ()
    assert run.result.parallel_overlap is None and run.result.median_slice_ms is None
    events = [u.event for _, u in run.items if isinstance(u, EventReceived)]
    assert not any(isinstance(e, MalformedLine) for e in events)


async def test_protocol_1_recording_replays_to_its_result() -> None:
    recorded = read_recording(FIXTURES / "recording_v1.jsonl").runs[0]
    updates = [u async for u in ReplayRun(recorded, speed=0).updates()]
    assert isinstance(updates[-1], RunFinished) and updates[-1].result == recorded.result


async def test_recording_keeps_the_slices_and_the_timeline_figures(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    spec = RunSpec(target=PY, workload="sum_squares", threads=2, size=300_000, switch_interval_s=0.001)
    await _record(path, spec)
    run = read_recording(path).runs[0]
    assert run.spec == spec and run.result.switch_interval_s == pytest.approx(0.001)
    assert [t.worker for t in run.timeline.tracks] == [0, 1]
    assert all(t.slices for t in run.timeline.tracks)
    assert run.result.median_slice_ms is not None and run.result.parallel_overlap is not None
    # a recording cut before its result record rebuilds the same figures from the slices lines
    lines = path.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["kind"] == "result"
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:-1]))
    rebuilt = read_recording(cut).runs[0]
    assert rebuilt.result.complete is False and rebuilt.timeline == run.timeline
    assert rebuilt.result.median_slice_ms == run.result.median_slice_ms
    assert rebuilt.result.parallel_overlap == run.result.parallel_overlap
    assert rebuilt.result.switch_interval_s == run.result.switch_interval_s


def test_run_start_says_started_at_and_old_recordings_still_read(tmp_path: Path) -> None:
    # `t` is seconds since the run's spawn in every record; the run's Unix start time has its own name.
    path = tmp_path / "rec.jsonl"
    with Recorder(path) as recorder:
        recorder.run_start(
            "r1", RunSpec(target=PY, workload="sum_squares"), ("x",), 1, False, 1_800_000_000.5
        )
    start = next(json.loads(line) for line in path.read_text().splitlines() if '"run_start"' in line)
    assert start["started_at"] == 1_800_000_000.5 and "t" not in start
    (run,) = read_recording(path).runs
    assert run.started_at == 1_800_000_000.5
    old = read_recording(FIXTURES / "recording_v1.jsonl").runs[0]
    assert old.started_at == pytest.approx(1796033188.6107283)  # written as "t" before


def test_tap_records_unbuilt_stdout_lines_as_it_records_their_updates(tmp_path: Path) -> None:
    raws = ['{"event":"progress","t":0.5,"worker":0,"done":1,"total":2}', "[1]", "é"]
    paths = tmp_path / "batch.jsonl", tmp_path / "lines.jsonl"
    with Recorder(paths[0]) as first, Recorder(paths[1]) as second:
        RunTap(first, "r1").batch([EventReceived(1.5, parse_line(raw), raw) for raw in raws])
        RunTap(second, "r1").stdout_lines(1.5, raws)
    assert paths[0].read_text().splitlines()[1:] == paths[1].read_text().splitlines()[1:]
    assert len(paths[1].read_text().splitlines()) == 1 + len(raws)
