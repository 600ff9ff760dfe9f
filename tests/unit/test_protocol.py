"""protocol.parse_line: valid events, foreign shapes, rejection reasons, and fuzzing (never raises)."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gildash.engine import protocol
from gildash.engine.model import (
    ErrorEvent,
    MalformedLine,
    ProgressEvent,
    SlicesEvent,
    StartEvent,
    SummaryEvent,
    Target,
    WorkerDoneEvent,
)
from gildash.engine.protocol import EventTally, gil_reenabled_module, gil_was_reenabled, parse_line

START = {
    "event": "start",
    "t": 0.05,
    "protocol": 1,
    "workload": "sum_squares",
    "params": {"threads": 4, "size": 1000, "executor": "thread"},
    "scaling": "weak",
    "pid": 1234,
    "interpreter": {
        "implementation": "cpython",
        "version": "3.13.5",
        "executable": "/x/python3.13t",
        "free_threaded": True,
        "gil_enabled": False,
    },
    "cpu_count": 2,
    "affinity": [0, 1],
}
SUMMARY = {
    "event": "summary",
    "t": 1.5,
    "wall_s": 1.2,
    "wall_total_s": 1.4,
    "cpu_user_s": 2.3,
    "cpu_sys_s": 0.1,
    "cpu_s": 2.38,
    "ok": True,
    "result": 42,
    "expected": 42,
    "gil_enabled": False,
    "aborted": False,
    "metrics": {"requests": 3},
}


def test_start_line() -> None:
    ev = parse_line(json.dumps(START).encode())
    assert isinstance(ev, StartEvent)
    assert ev.workload == "sum_squares" and ev.scaling == "weak" and ev.pid == 1234
    assert ev.free_threaded is True and ev.gil_enabled is False and ev.version == "3.13.5"
    assert ev.params["threads"] == 4 and ev.cpu_count == 2


def test_other_events() -> None:
    assert parse_line('{"event":"progress","t":0.1,"worker":1,"done":5,"total":10}') == ProgressEvent(
        0.1, 1, 5, 10
    )
    done = parse_line('{"event":"worker_done","t":1,"worker":0,"duration_s":0.9,"cpu_s":null,"result":7}')
    assert done == WorkerDoneEvent(1.0, 0, 0.9, None, 7)
    summary = parse_line(json.dumps(SUMMARY))
    assert isinstance(summary, SummaryEvent)
    assert summary.cpu_s == 2.38 and summary.ok and summary.metrics == {"requests": 3}
    err = parse_line('{"event":"error","t":0,"message":"bad","traceback":"tb"}')
    assert err == ErrorEvent(0.0, "bad", "tb")


def test_foreign_shapes() -> None:
    start = parse_line('{"config": true, "num_threads": 4, "python_version": "3.13.0", "gil_enabled": false}')
    assert isinstance(start, StartEvent)
    assert start.params["threads"] == 4 and start.version == "3.13.0" and start.gil_enabled is False
    done = parse_line('{"thread_index": 2, "duration_sec": 0.5}')
    assert isinstance(done, WorkerDoneEvent) and done.worker == 2 and done.duration_s == 0.5
    summary = parse_line('{"summary": true, "num_threads": 4, "total_duration_sec": 1.25}')
    assert isinstance(summary, SummaryEvent) and summary.ok is True and summary.wall_s == 1.25
    failed = parse_line('{"summary": true, "num_threads": 4, "total_duration_sec": 1.25, "ok": false}')
    assert isinstance(failed, SummaryEvent) and failed.ok is False


def _reason(line: str | bytes) -> str:
    ev = parse_line(line)
    assert isinstance(ev, MalformedLine), ev
    assert "\n" not in ev.reason and ev.reason
    return ev.reason


def test_rejections_have_one_line_reasons() -> None:
    assert "empty" in _reason("   ")
    assert "not JSON" in _reason("hello world")
    assert "not a JSON object" in _reason("[1, 2]")
    assert "missing 'event'" in _reason('{"t": 1}')
    assert "unknown event" in _reason('{"event": "bogus"}')
    assert "not a string" in _reason('{"event": 3}')
    assert "negative" in _reason('{"event":"worker_done","worker":0,"duration_s":-1}')
    assert "non-finite" in _reason('{"event":"summary","wall_s":NaN,"ok":true}')
    assert "non-finite" in _reason('{"event":"summary","wall_s":Infinity,"ok":true}')
    assert "not a number" in _reason('{"event":"summary","wall_s":true,"ok":true}')
    assert "ok" in _reason('{"event":"summary","wall_s":1}')
    assert "out of range" in _reason('{"event":"progress","worker":-1,"done":0,"total":1}')
    assert "out of range" in _reason('{"event":"progress","worker":100001,"done":0,"total":1}')
    bad_threads = dict(START, params={"threads": 10**6})
    assert "out of range" in _reason(json.dumps(bad_threads))
    assert "scaling" in _reason(json.dumps(dict(START, scaling="huge")))
    assert "nested" in _reason("[" * 100_000) or "not JSON" in _reason("[" * 100_000)


def test_truncated_and_bytes() -> None:
    ev = parse_line(json.dumps(SUMMARY)[:20], truncated=True)
    assert isinstance(ev, MalformedLine) and ev.truncated
    ev = parse_line(b"\xff\xfe{not json")
    assert isinstance(ev, MalformedLine) and "\ufffd" in ev.raw


def test_gil_warning_detection() -> None:
    line = (
        "<frozen importlib._bootstrap>:488: RuntimeWarning: The global interpreter lock (GIL) has been "
        "enabled to load module 'numpy._core._multiarray_umath', which has not declared that it can run "
        "safely without the GIL. To override this behavior and keep the GIL disabled (at your own risk), "
        "run with PYTHON_GIL=0 or -Xgil=0."
    )
    assert gil_reenabled_module(line) == "numpy._core._multiarray_umath"
    assert gil_reenabled_module("RuntimeWarning: something else") is None


def test_gil_was_reenabled_ignores_forced_targets() -> None:
    ft = Target(
        id="py3.13t", label="ft", executable="/x", kind="python", free_threaded=True, gil_enabled=False
    )
    forced = Target(
        id="py3.13t+gil",
        label="ft",
        executable="/x",
        kind="python",
        free_threaded=True,
        gil_enabled=True,
        env=(("PYTHON_GIL", "1"),),
    )
    gil = Target(id="py3.11", label="gil", executable="/x", kind="python")
    assert gil_was_reenabled(ft, False, True, None)
    assert gil_was_reenabled(ft, None, None, "mod")
    assert not gil_was_reenabled(ft, False, False, None)
    assert not gil_was_reenabled(forced, True, True, "mod")
    assert not gil_was_reenabled(gil, True, True, "mod")


def test_tally() -> None:
    tally = EventTally()
    for line in (
        json.dumps(START),
        '{"event":"worker_done","t":1,"worker":1,"duration_s":0.8}',
        '{"event":"worker_done","t":1,"worker":0,"duration_s":0.9}',
        "garbage",
        json.dumps(SUMMARY),
    ):
        tally.add(parse_line(line))
    assert tally.start is not None and tally.summary is not None
    assert tally.durations() == (0.9, 0.8)
    assert tally.malformed == 1
    cores = tally.effective_cores()
    assert cores is not None and abs(cores - 2.38 / 1.2) < 1e-9


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
event_names = st.sampled_from(["start", "progress", "worker_done", "slices", "summary", "error", "x"])
fields = st.sampled_from(
    [
        "t",
        "worker",
        "done",
        "total",
        "duration_s",
        "cpu_s",
        "wall_s",
        "ok",
        "params",
        "interpreter",
        "scaling",
        "pid",
        "message",
        "traceback",
        "metrics",
        "config",
        "summary",
        "thread_index",
        "duration_sec",
        "total_duration_sec",
        "num_threads",
        "gil_enabled",
        "aborted",
        "result",
        "slices",
        "blocked",
        "timeline",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes_never_raise(data: bytes) -> None:
    assert parse_line(data) is not None
    assert parse_line(data, truncated=True) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_text_never_raise(text: str) -> None:
    assert parse_line(text) is not None


@settings(max_examples=500, deadline=None)
@given(event_names, st.dictionaries(fields, json_values, max_size=10))
def test_fuzz_event_shaped_json_never_raise(event: str, body: dict[str, object]) -> None:
    obj = dict(body, event=event)
    try:
        line = json.dumps(obj)
    except ValueError:
        return
    ev = parse_line(line)
    if isinstance(ev, ProgressEvent):
        assert 0 <= ev.worker <= 100_000
    if isinstance(ev, WorkerDoneEvent):
        assert ev.duration_s >= 0
    if isinstance(ev, SummaryEvent):
        assert ev.wall_s >= 0 and isinstance(ev.ok, bool)
    if isinstance(ev, SlicesEvent):
        assert all(0 <= a < b for a, b in (*ev.slices, *ev.blocked))
    ev2 = parse_line(json.dumps(body))  # no "event": the foreign-shape path
    assert ev2 is not None


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    """('ok', value) or (exception type name, message): compares two parsers' results and failures."""
    try:
        return "ok", call()
    except Exception as exc:  # the parsers raise _Invalid, ValueError, OverflowError, RecursionError
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        json_values.map(json.dumps),
        st.tuples(json_values.map(json.dumps), st.text(max_size=5)).map("".join),
        st.sampled_from(["NaN", "[-Infinity]", "\ufeff{}", "{} {}", "1 2", '"open', "1" * 5000, "-"]),
    )
)
def test_cached_decoder_matches_json_loads(text: str) -> None:
    text = text.strip()
    if not text:
        return
    expected = _outcome(lambda: json.loads(text, parse_constant=protocol._reject_constant))
    got = _outcome(lambda: protocol._decode(text))
    if expected[0] == "ok" and got[0] == "ok":
        assert json.dumps(got[1]) == json.dumps(expected[1])  # NaN-free, but -0.0 vs 0 must match too
    else:
        assert got == expected


progress_values = st.one_of(
    st.integers(min_value=-3, max_value=200_000),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.sampled_from([1e9, 1e9 + 1, 10**400, -0.0, 100_000, 100_001]),
)


@settings(max_examples=600, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["t", "worker", "done", "total", "extra"]), progress_values, max_size=5)
)
@example({"t": 10**400, "worker": 0, "done": 1, "total": 2})
@example({"t": -0.0, "worker": 100_000, "done": 0, "total": 0, "extra": None})
def test_progress_fast_path_equals_full_validation(body: dict[str, object]) -> None:
    obj = dict(body, event="progress")
    assert _outcome(lambda: protocol._parse_progress(obj)) == _outcome(
        lambda: protocol._parse_progress_checked(obj)
    )


def test_progress_fast_path_keeps_edge_cases_strict() -> None:
    ok = '{"event":"progress","t":0.5,"worker":3,"done":7,"total":9}'
    assert parse_line(ok) == ProgressEvent(0.5, 3, 7, 9)
    assert parse_line('{"event":"progress","t":2,"worker":0,"done":1,"total":2}') == ProgressEvent(
        2.0, 0, 1, 2
    )
    assert "non-finite" in _reason('{"event":"progress","t":NaN,"worker":0,"done":1,"total":2}')
    assert "not finite" in _reason('{"event":"progress","t":1e999,"worker":0,"done":1,"total":2}')
    assert "not an integer" in _reason('{"event":"progress","t":1,"worker":true,"done":1,"total":2}')
    assert "not an integer" in _reason('{"event":"progress","t":1,"worker":0,"done":1.0,"total":2}')
    assert "negative" in _reason('{"event":"progress","t":-1,"worker":0,"done":1,"total":2}')
    assert "BOM" in _reason("\ufeff" + ok)
    assert "Extra data" in _reason(ok + " {}")
    cut = parse_line(ok, truncated=True)
    assert isinstance(cut, MalformedLine) and cut.truncated


# --- slices (protocol 2) -------------------------------------------------------------------------


def _slices(**body: object) -> object:
    return parse_line(json.dumps({"event": "slices", "t": 0.5, "worker": 1, **body}))


def test_slices_line() -> None:
    ev = _slices(slices=[[0.1, 0.105], [0.11, 0.115]], blocked=[[0.105, 0.11]])
    assert ev == SlicesEvent(0.5, 1, ((0.1, 0.105), (0.11, 0.115)), ((0.105, 0.11),), 0)
    # blocked is optional; an empty batch is valid
    assert _slices(slices=[]) == SlicesEvent(0.5, 1, (), (), 0)


def test_slices_with_bad_spans_are_repaired_not_rejected() -> None:
    ev = _slices(
        slices=[
            [0.3, 0.4],  # out of order: sorted back into place
            [0.1, 0.2],
            [0.15, 0.25],  # overlaps the one before: merged
            [0.5, 0.5],  # empty
            [0.7, 0.6],  # ends before it starts
            [-1, 0.1],  # negative
            [0.8],  # not a pair
            [0.8, 0.9, 1.0],
            ["0.8", 0.9],
            [True, 0.9],
            "x",
            [0.8, 1e12],  # absurd
        ]
    )
    assert isinstance(ev, SlicesEvent)
    assert ev.slices == ((0.1, 0.25), (0.3, 0.4)) and ev.repaired == 10


def test_non_finite_spans_never_raise() -> None:
    ev = parse_line('{"event":"slices","t":1,"worker":0,"slices":[[NaN,1],[0,Infinity],[0.1,0.2]]}')
    # NaN/Infinity are not JSON: the whole line is rejected with a reason, nothing raised
    assert isinstance(ev, MalformedLine) and "non-finite" in ev.reason
    ev = _slices(slices=[[0.1, 1e308 * 10]])  # json.dumps writes Infinity
    assert isinstance(ev, MalformedLine)


def test_malformed_slices_lines_are_rejected_with_reasons() -> None:
    assert "worker" in _reason('{"event":"slices","t":1,"slices":[]}')
    assert "not a list" in _reason('{"event":"slices","t":1,"worker":0,"slices":{"a":1}}')
    assert "not a list" in _reason('{"event":"slices","t":1,"worker":0,"blocked":"x"}')
    huge = json.dumps({"event": "slices", "worker": 0, "slices": [[0, 1]] * (protocol.MAX_SPANS + 1)})
    assert "too many" in _reason(huge)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=0, max_size=3),
            json_values,
        ),
        max_size=30,
    )
)
def test_slices_fuzz_gives_sorted_disjoint_spans(spans: list[object]) -> None:
    ev = _slices(slices=spans, blocked=spans)
    if isinstance(ev, MalformedLine):
        return
    assert isinstance(ev, SlicesEvent)
    for kind in (ev.slices, ev.blocked):
        assert all(0 <= a < b for a, b in kind)
        assert all(x[1] < y[0] for x, y in pairwise(kind))


def test_start_line_timeline_and_switch_interval() -> None:
    timeline = {"gap_s": 0.0003, "flush_s": 0.25, "check_every": 1000, "check_unit": "iterations"}
    params = dict(START["params"], switch_interval=0.001, switch_interval_s=0.001)  # type: ignore[arg-type]
    ev = parse_line(json.dumps(dict(START, protocol=2, timeline=timeline, params=params)))
    assert isinstance(ev, StartEvent) and ev.protocol == 2
    assert ev.timeline is not None and ev.timeline.gap_s == 0.0003 and ev.timeline.check_every == 1000
    assert ev.switch_interval_s == 0.001
    # v1 start lines and broken optional objects: no timeline, no interval, the line still counts
    old = parse_line(json.dumps(START))
    assert isinstance(old, StartEvent) and old.timeline is None and old.switch_interval_s is None
    for bad in ({"gap_s": -1}, {"gap_s": "x"}, [], "on", None):
        params = dict(START["params"], switch_interval_s="fast")  # type: ignore[arg-type]
        ev = parse_line(json.dumps(dict(START, timeline=bad, params=params)))
        assert isinstance(ev, StartEvent) and ev.timeline is None and ev.switch_interval_s is None


def test_tally_collects_slices_into_the_result_figures() -> None:
    tally = EventTally()
    tally.add(parse_line(json.dumps(dict(START, params={"threads": 2, "switch_interval_s": 0.005}))))
    # a zipper: worker 0 and 1 take turns, 5 ms each, over 40 ms; batches split a slice at 0.02
    zipper = [[0.005 * k, 0.005 * (k + 1)] for k in range(8)]
    tally.add(_slices(worker=0, slices=[s for s in zipper[0::2] if s[1] <= 0.02] + [[0.02, 0.0201]]))
    tally.add(_slices(worker=1, slices=zipper[1::2]))
    tally.add(_slices(worker=0, slices=[[0.0201, 0.025], [0.03, 0.035]]))  # continues the split slice
    tally.add(_slices(worker=0, slices=[[0.001, 0.002]]))  # out of order: dropped, counted
    tally.add(parse_line(json.dumps(SUMMARY)))
    target = Target(id="py", label="py", executable="/x", kind="python")
    from gildash.engine.model import RunSpec

    result = tally.result(
        RunSpec(target=target, workload="sum_squares", threads=2),
        run_id="r",
        status="ok",
        message="",
        harness_wall_s=1.0,
        noisy=False,
        gil_module=None,
        stderr_tail="",
        started_at=0.0,
    )
    assert result.parallel_overlap == 0.0
    assert result.median_slice_ms is not None and abs(result.median_slice_ms - 5.0) < 1e-9
    assert result.handoffs_per_s is not None and abs(result.handoffs_per_s - 7 / 0.04) < 1e-6
    assert result.switch_interval_s == 0.005
    assert tally.timeline.repaired == 1
