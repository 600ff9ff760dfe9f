"""parse_line's fast paths for progress lines give exactly what the full validation gives, and the
per-line constructors build objects equal to the dataclass constructor's."""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gildash.engine import protocol
from gildash.engine.model import (
    EventReceived,
    ProgressEvent,
    iter_progress_received,
    new_event_received,
    new_progress_event,
)
from gildash.engine.protocol import MAX_SECONDS, MAX_WORKERS, parse_line

EDGE_NUMBERS: list[Any] = [
    0, 1, -1, 0.0, -0.0, 1e-07, 0.5, 1.25e3, MAX_SECONDS, MAX_SECONDS + 1, int(MAX_SECONDS), 10**9 + 1,
    MAX_WORKERS, MAX_WORKERS + 1, 10**17, 10**18, 10**19, 2**63, True, False, None, "1", [1], {"a": 1},
]  # fmt: skip


def full(line: str) -> Any:
    """What the full path (no shortcut) makes of the line."""
    return protocol._parse_full(line, False)


def same(line: str) -> None:
    fast, slow = parse_line(line), full(line)
    assert type(fast) is type(slow)
    assert fast == slow
    assert repr(fast) == repr(slow)
    if isinstance(fast, ProgressEvent):
        for f in dataclasses.fields(fast):
            assert type(getattr(fast, f.name)) is type(getattr(slow, f.name))


@pytest.mark.parametrize(
    "line",
    [
        '{"event":"progress","t":0.123456,"worker":0,"done":5,"total":10}',
        '{"event":"progress","t":3,"worker":2,"done":0,"total":0}',
        '{"event":"progress","t":1000000000,"worker":100000,"done":1,"total":2}',
        '{"event":"progress","t":1000000000.5,"worker":1,"done":1,"total":2}',
        '{"event":"progress","t":1000000001,"worker":1,"done":1,"total":2}',
        '{"event":"progress","t":9999999999,"worker":1,"done":1,"total":2}',
        '{"event":"progress","t":0.1,"worker":100001,"done":1,"total":2}',
        '{"event":"progress","t":0.1,"worker":01,"done":1,"total":2}',
        '{"event":"progress","t":1e-06,"worker":1,"done":1,"total":2}',
        '{"event":"progress","t":0.1,"worker":1,"done":999999999999999999,"total":2}',
        '{"event":"progress","t":0.1,"worker":1,"done":1,"total":2} ',
        '  {"event":"progress","t":0.1,"worker":1,"done":1,"total":2}\r',
        '{"event":"progress","t":0.1,"worker":1,"done":1,"total":2}{}',
        '{"event":"progress","t":0.1,"worker":1,"done":1,"total":2,"worker":3}',
        '{"event":"progress","t":0.1,"worker":1,"done":1}',
        '{"event":"progress","t":NaN,"worker":1,"done":1,"total":2}',
        '{"event":"progress","t":0.1,"worker":\u0661,"done":1,"total":2}',
        '\ufeff{"event":"progress","t":0.1,"worker":1,"done":1,"total":2}',
        '{"event":"progr\\u0065ss","t":0.1,"worker":1,"done":1,"total":2}',
        '{"total":2,"done":1,"worker":1,"t":0.1,"event":"progress"}',
        '{"event":"progress","worker":1,"done":1,"total":2}',
        '{"event":"progress","t":0.1,"worker":1,"done":1,"total":2,"extra":[1,2]}',
        '{"event": "progress", "t": 0.1, "worker": 1, "done": 1, "total": 2}',
        "",
        "   ",
        "[1]",
    ],
)
def test_fast_path_matches_the_full_path_on_edge_lines(line: str) -> None:
    same(line)


@settings(max_examples=400, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {
            "t": st.one_of(st.sampled_from(EDGE_NUMBERS), st.floats(allow_nan=False), st.integers()),
            "worker": st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers()),
            "done": st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers()),
            "total": st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers()),
        }
    ),
    order=st.permutations(["event", "t", "worker", "done", "total"]),
    compact=st.booleans(),
)
@example(
    values={"t": 0.5, "worker": 3, "done": 7, "total": 9},
    order=["event", "t", "worker", "done", "total"],
    compact=True,
)
def test_fast_path_matches_the_full_path(values: dict[str, Any], order: list[str], compact: bool) -> None:
    obj = {key: "progress" if key == "event" else values[key] for key in order}
    separators = (",", ":") if compact else (", ", ": ")
    same(json.dumps(obj, separators=separators))


def test_fast_constructors_build_the_dataclass_objects() -> None:
    event = new_progress_event(0.5, 1, 2, 3)
    plain = ProgressEvent(0.5, 1, 2, 3)
    assert event == plain and hash(event) == hash(plain) and repr(event) == repr(plain)
    assert dataclasses.asdict(event) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(event)) == plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.t = 1.0  # type: ignore[misc]
    update = new_event_received(1.5, event, "raw")
    assert update == EventReceived(1.5, plain, "raw")
    assert repr(update) == repr(EventReceived(1.5, plain, "raw"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        update.raw = "x"  # type: ignore[misc]


def test_lazy_progress_updates_are_the_dataclass_objects() -> None:
    updates = list(iter_progress_received(1.5, [0.5, 0.25], [1, 0], [2, 0], [3, 4], ["a", "b"]))
    plain = [
        EventReceived(1.5, ProgressEvent(0.5, 1, 2, 3), "a"),
        EventReceived(1.5, ProgressEvent(0.25, 0, 0, 4), "b"),
    ]
    assert updates == plain and [repr(u) for u in updates] == [repr(u) for u in plain]
    assert [hash(u.event) for u in updates] == [hash(u.event) for u in plain]
    assert pickle.loads(pickle.dumps(updates)) == plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        updates[0].event.done = 9  # type: ignore[misc]
    with pytest.raises(ValueError):
        list(iter_progress_received(0.0, [0.5], [1], [2], [3], []))


def block_same(lines: list[str]) -> list[Any] | None:
    """parse_progress_block of the lines; when it answers, it answers what parse_line says of each."""
    events = protocol.parse_progress_block("\n".join(lines), len(lines))
    if events is not None:
        assert len(events) == len(lines)
        for event, line in zip(events, lines, strict=True):
            slow = parse_line(line)
            assert type(event) is ProgressEvent and event == slow and repr(event) == repr(slow)
            for f in dataclasses.fields(event):
                assert type(getattr(event, f.name)) is type(getattr(slow, f.name))
    return events


def canonical(t: str, worker: int, done: int, total: int) -> str:
    return f'{{"event":"progress","t":{t},"worker":{worker},"done":{done},"total":{total}}}'


def test_block_of_canonical_progress_lines_is_parsed_at_once() -> None:
    lines = [
        canonical("0.000001", 0, 1, 9),
        canonical("12.5", 7, 2, 9),
        canonical("999999999.25", MAX_WORKERS, 0, 0),
    ]
    events = block_same(lines)
    assert events is not None and [e.worker for e in events] == [0, 7, MAX_WORKERS]


@pytest.mark.parametrize(
    "odd",
    [
        "",
        " ",
        canonical("0.1", 1, 1, 2) + " ",
        canonical("0.1", 1, 1, 2) + "\r",
        canonical("1000000000", 1, 1, 2),  # MAX_SECONDS exactly: valid, but outside the block's narrowing
        canonical("0.1", MAX_WORKERS + 1, 1, 2),
        canonical("0.1", 1, 1, 2) + canonical("0.1", 1, 1, 2),
        '{"event":"start","t":0.0}',
        "not json",
    ],
)
def test_block_with_any_other_line_is_left_to_parse_line(odd: str) -> None:
    good = canonical("0.5", 0, 1, 2)
    for lines in ([odd], [good, odd], [odd, good], [good, odd, good]):
        assert block_same(lines) is None


def test_columns_of_a_block_are_its_lines_fields_and_nothing_else_passes() -> None:
    good, other = canonical("0.5", 3, 1, 2).encode(), canonical("12", 0, 7, 9).encode()
    assert protocol.parse_progress_columns(good + b"\n" + other) == ([0.5, 12.0], [3, 0], [1, 7], [2, 9])
    odd = [
        b"",
        b"\n",
        good + b"\n",
        b"\n" + good,
        good + b"\n\n" + other,
        good + b"\r",
        "é".encode(),
        b"1 2 3 4",
    ]
    for block in (*odd, good + b"\n" + "é".encode() + b"\n" + other):
        assert protocol.parse_progress_columns(block) is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                canonical,
                st.one_of(
                    st.sampled_from(["0", "0.0", "1e-06", "01.5", "999999999.999", "1000000000"]),
                    st.floats(min_value=0, max_value=2e9).map(repr),
                ),
                st.one_of(st.sampled_from([0, MAX_WORKERS, MAX_WORKERS + 1, -1]), st.integers(0, 10**6)),
                st.integers(-1, 10**19),
                st.integers(-1, 10**19),
            ),
            st.text(max_size=8).filter(lambda s: "\n" not in s),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_block_agrees_with_parse_line(lines: list[str]) -> None:
    events = block_same(lines)
    fast_shape = all(protocol._progress_rows(line) for line in lines)
    assert (events is not None) == fast_shape
