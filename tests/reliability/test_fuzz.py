"""Property tests: the protocol parser never raises and never trusts an invalid value; custom-command
argv substitution never splits, joins or shells; the runner's line splitter keeps every line intact."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import fields, is_dataclass
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reliability_support import PY

from gildash.engine.model import (
    ErrorEvent,
    EventReceived,
    MalformedLine,
    ProgressEvent,
    RunSpec,
    StartEvent,
    SummaryEvent,
    WorkerDoneEvent,
)
from gildash.engine.protocol import MAX_SECONDS, MAX_WORKERS, parse_line
from gildash.engine.runner import Run, RunSpecError, build_argv

EVENTS = ("start", "progress", "worker_done", "summary", "error")

# Any JSON value, including the ones careless scripts produce: NaN, infinities, huge ints, deep nesting.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = [
    "t", "worker", "done", "total", "duration_s", "cpu_s", "wall_s", "wall_total_s", "cpu_user_s",
    "cpu_sys_s", "ok", "aborted", "gil_enabled", "result", "message", "traceback", "params", "scaling",
    "pid", "cpu_count", "protocol", "interpreter", "metrics", "workload",
]  # fmt: skip
FOREIGN_NAMES = ["config", "summary", "thread_index", "duration_sec", "total_duration_sec", "num_threads"]

VALID: dict[str, dict[str, Any]] = {
    "start": {
        "event": "start", "t": 0.0, "protocol": 1, "workload": "w",
        "params": {"threads": 2, "size": 10, "executor": "thread"}, "scaling": "weak", "pid": 123,
        "interpreter": {"implementation": "cpython", "version": "3.11.7", "executable": "/p",
                        "free_threaded": False, "gil_enabled": True},
        "cpu_count": 2,
    },
    "progress": {"event": "progress", "t": 0.5, "worker": 0, "done": 1, "total": 2},
    "worker_done": {
        "event": "worker_done", "t": 1.0, "worker": 1, "duration_s": 0.9, "cpu_s": 0.8, "result": 3,
    },
    "summary": {
        "event": "summary", "t": 1.1, "wall_s": 1.0, "wall_total_s": 1.1, "cpu_user_s": 1.0, "cpu_sys_s": 0.0,
        "cpu_s": 1.0, "ok": True, "result": 3, "gil_enabled": True, "aborted": False, "metrics": {},
    },
    "error": {"event": "error", "t": 0.2, "message": "boom", "traceback": None},
}  # fmt: skip
"""One valid line per event type: the base the mutation tests break one field of."""

BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), -1, -0.5, "1.0", True, [1], {"x": 1}, 10**20]
"""Values no duration / count field may accept (10**20 exceeds every capped bound)."""
NUMERIC_FIELDS = {
    "progress": ["t", "worker", "done", "total"],
    "worker_done": ["t", "worker", "duration_s", "cpu_s"],
    "summary": ["t", "wall_s", "wall_total_s", "cpu_user_s", "cpu_sys_s", "cpu_s"],
    "start": ["t", "pid", "cpu_count"],
    "error": ["t"],
}


def _dumps(obj: object) -> str | None:
    try:
        return json.dumps(obj)
    except (ValueError, TypeError, RecursionError):
        return None


def _numbers_in(event: object) -> list[tuple[str, float]]:
    """(name, value) of every int/float field of a parsed event (params/metrics/result excluded)."""
    out = []
    assert is_dataclass(event)
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((f.name, value))
    return out


def assert_trustworthy(event: object) -> None:
    """Whatever parse_line returns carries only finite, in-range numbers."""
    for name, value in _numbers_in(event):
        assert math.isfinite(value), (name, value)
        assert value >= 0, (name, value)
        if name in ("worker", "cpu_count"):
            assert value <= MAX_WORKERS, (name, value)
        if name.endswith("_s") or name == "t":
            assert value <= MAX_SECONDS, (name, value)
    if isinstance(event, StartEvent):
        threads = event.params.get("threads")
        assert threads is None or (isinstance(threads, int) and 0 <= threads <= MAX_WORKERS)
    if isinstance(event, SummaryEvent):
        assert isinstance(event.ok, bool) and isinstance(event.aborted, bool)
    if isinstance(event, MalformedLine):
        assert event.reason and "\n" not in event.reason


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes_never_raise(data: bytes, truncated: bool) -> None:
    event = parse_line(data, truncated=truncated)
    assert_trustworthy(event)
    if truncated:
        assert isinstance(event, MalformedLine) and event.truncated


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(EVENTS),
    st.dictionaries(st.sampled_from(FIELD_NAMES + FOREIGN_NAMES), json_values, max_size=12),
)
def test_event_shaped_json_with_random_values_never_raises_nor_trusts_garbage(
    event: str, body: dict[str, Any]
) -> None:
    line = _dumps(dict(body, event=event))
    assume(line is not None)
    assert line is not None
    parsed = parse_line(line)
    assert_trustworthy(parsed)
    foreign = _dumps(body)  # without "event": the foreign-shape path
    if foreign is not None:
        assert_trustworthy(parse_line(foreign))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(VALID)),
    st.data(),
    st.sampled_from(BAD_NUMBERS),
)
def test_one_invalid_number_makes_the_line_malformed(event: str, data: st.DataObject, bad: object) -> None:
    name = data.draw(st.sampled_from(NUMERIC_FIELDS[event]))
    # done/total/pid have no upper bound (a pid is only displayed, never signalled): only the rest are capped.
    assume(not (bad == 10**20 and name in ("done", "total", "pid")))
    obj = dict(VALID[event], **{name: bad})
    line = json.dumps(obj)  # NaN/Infinity written literally, as json.dumps does by default
    parsed = parse_line(line)
    assert isinstance(parsed, MalformedLine), (name, bad, parsed)
    assert name in parsed.reason or "non-finite" in parsed.reason or "JSON" in parsed.reason


def test_the_valid_bases_parse() -> None:
    kinds = {
        "start": StartEvent,
        "progress": ProgressEvent,
        "worker_done": WorkerDoneEvent,
        "summary": SummaryEvent,
        "error": ErrorEvent,
    }
    for event, obj in VALID.items():
        assert isinstance(parse_line(json.dumps(obj)), kinds[event]), event


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([float("nan"), float("inf"), -1.0, -1e-9, 2e9]), st.sampled_from(["d", "s"]))
def test_bad_durations_never_become_events(bad: float, shape: str) -> None:
    if shape == "d":
        lines = [
            json.dumps(dict(VALID["worker_done"], duration_s=bad)),
            json.dumps({"thread_index": 0, "duration_sec": bad}),
        ]
    else:
        lines = [
            json.dumps(dict(VALID["summary"], wall_s=bad)),
            json.dumps({"summary": True, "num_threads": 2, "total_duration_sec": bad}),
        ]
    for line in lines:
        assert isinstance(parse_line(line), MalformedLine), line


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**12))
def test_absurd_thread_counts_are_rejected(threads: int) -> None:
    obj = dict(VALID["start"], params={"threads": threads, "size": 1, "executor": "thread"})
    parsed = parse_line(json.dumps(obj))
    if 0 <= threads <= MAX_WORKERS:
        assert isinstance(parsed, StartEvent)
    else:
        assert isinstance(parsed, MalformedLine)
    foreign = parse_line(json.dumps({"config": True, "num_threads": threads}))
    assert isinstance(foreign, StartEvent if 0 <= threads <= MAX_WORKERS else MalformedLine)


def test_pathological_json_is_malformed_not_fatal() -> None:
    for line in (
        "[" * 100_000,
        '{"event": "progress", "worker": ' + "9" * 10_000 + "}",
        '{"event": "start", "params": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
        "\x00" * 1000,
        '{"event": "progress"' + ', "t": 1' * 1000 + "}",
    ):
        assert_trustworthy(parse_line(line))


# --- custom-command argv --------------------------------------------------------------------------

argv_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(argv_text, min_size=1, max_size=6), st.integers(1, 64), st.none() | st.integers(1, 10**9))
def test_custom_argv_substitution_never_splits_or_joins(
    cmd: list[str], threads: int, size: int | None
) -> None:
    spec = RunSpec(target=PY, workload="custom", threads=threads, size=size, cmd=tuple(cmd))
    try:
        argv = build_argv(spec)
    except RunSpecError as exc:
        assert "{size}" in "".join(cmd) and size is None, exc
        return
    assert len(argv) == len(cmd)  # one argument in, one argument out: no shell word-splitting
    for template, arg in zip(cmd, argv, strict=True):
        expected = template.replace("{threads}", str(threads)).replace("{size}", str(size))
        assert arg == expected.replace("{python}", sys.executable)


# --- the runner's line splitter, end to end -----------------------------------------------------------

line_bytes = st.binary(max_size=150).map(lambda b: b.replace(b"\n", b""))


def expected_lines(chunks: list[bytes], trailing_newline: bool, max_line: int) -> list[tuple[str, bool]]:
    out = []
    for i, line in enumerate(chunks):
        if i == len(chunks) - 1 and not trailing_newline and not line:
            continue
        if len(line) > max_line:
            out.append((line[:max_line].decode("utf-8", "replace"), True))
        else:
            text = line.decode("utf-8", "replace")
            if text.strip():
                out.append((text, False))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line_bytes, min_size=1, max_size=12), st.booleans())
async def test_runner_keeps_every_line_of_arbitrary_output(lines: list[bytes], trailing: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing else b"")
    code = f"import sys; sys.stdout.buffer.write(bytes.fromhex({data.hex()!r}))"
    run = Run(
        RunSpec(target=PY, workload="custom", cmd=("{python}", "-c", code)),
        max_line=64,
        noise_check=False,
    )
    got = []
    async for update in run.updates():
        if isinstance(update, EventReceived):
            assert_trustworthy(update.event)
            truncated = isinstance(update.event, MalformedLine) and update.event.truncated
            got.append((update.raw, truncated))
    assert run.result is not None and run.result.exit_code == 0
    assert got == expected_lines(lines, trailing, 64)
