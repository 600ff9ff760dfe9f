"""The JSON helpers every writer and reader leans on: safejson never fails nor emits non-JSON, typed never
lets a value of the wrong type, a non-finite number or an unknown literal into a model dataclass."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gildash.engine.model import ProcSample, RunSpec, Target
from gildash.engine.safejson import MAX_DEPTH, TOO_DEEP, dumps, finite_floats_only, plain
from gildash.engine.typed import TypedError, build

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


@given(json_like)
def test_dumps_is_strict_json_whatever_the_value(value: object) -> None:
    finite_floats_only(dumps(value))


def test_plain_bounds_depth_and_maps_what_json_lacks() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(100_000):
        child: list[object] = []
        node.append(child)
        node = child
    text = dumps(
        {"deep": deep, "inf": math.inf, "nan": math.nan, "big": 10**5000, "set": {2, 1}, "p": Path("/x")}
    )
    data = finite_floats_only(text)
    assert data["inf"] is None and data["nan"] is None
    assert data["big"].startswith("<int of") and data["set"] == [1, 2] and data["p"] == "/x"
    level = data["deep"]
    for _ in range(MAX_DEPTH - 2):
        level = level[0]
    assert TOO_DEEP in json.dumps(level)
    assert plain(object()) == "<object>"


TARGET = {"id": "t", "label": "T", "executable": "/bin/t", "kind": "python"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threads", "2"),
        ("threads", True),
        ("threads", 2.0),
        ("executor", "fork"),
        ("timeout_s", math.inf),
        ("timeout_s", math.nan),
        ("cmd", "python x.py"),
        ("cmd", [1, 2]),
        ("target", {**TARGET, "env": [["A"]]}),
        ("target", {**TARGET, "kind": 3}),
        ("target", {**TARGET, "free_threaded": 1}),
    ],
)
def test_typed_refuses_what_does_not_fit(field: str, value: object) -> None:
    with pytest.raises(TypedError, match=field):
        build(RunSpec, {"target": TARGET, "workload": "w", field: value})


def test_typed_builds_what_fits_and_converts_lists_to_tuples() -> None:
    spec = build(
        RunSpec,
        {"target": {**TARGET, "env": [["A", "1"]]}, "workload": "w", "threads": 3, "cmd": ["a", "{threads}"]},
    )
    assert spec.target == Target(id="t", label="T", executable="/bin/t", kind="python", env=(("A", "1"),))
    assert spec.cmd == ("a", "{threads}") and spec.threads == 3
    sample = build(ProcSample, {"t": 1, "effective_cores": 0.5, "thread_util": [1], "thread_ids": [7],
                                "rss_bytes": 1, "processes": 1, "unknown": "ignored"})  # fmt: skip
    assert sample.t == 1.0 and sample.thread_util == (1.0,)
    with pytest.raises(TypedError, match="missing"):
        build(ProcSample, {"t": 1})


def test_export_json_is_strict_whatever_a_fit_holds() -> None:
    from gildash.engine.export import export_json
    from gildash.engine.model import AmdahlFit, SweepResult

    sweep = SweepResult("w", "weak", (), (AmdahlFit("t", math.nan, 3, math.inf),))
    data = finite_floats_only(export_json([], sweep))
    assert data["fits"]["t"] == {"serial_fraction": None, "points": 3, "rmse": None}
