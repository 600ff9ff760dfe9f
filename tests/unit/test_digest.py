"""The digester's fast path for progress lines folds them exactly as its general branches do."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from gildash.engine.digest import MAX_LINES, RunDigest, RunDigester
from gildash.engine.model import (
    EventReceived,
    MalformedLine,
    ProgressEvent,
    RunUpdate,
    StderrReceived,
    new_event_received,
    new_progress_event,
)


@dataclasses.dataclass(frozen=True)
class SlowProgress(ProgressEvent):
    """A progress event the fast path does not recognise (its type is not ProgressEvent itself)."""


def fold(updates: list[RunUpdate]) -> list[RunDigest]:
    digester = RunDigester()
    for update in updates:
        digester.add(update)
    return digester.take()


def summary(digests: list[RunDigest]) -> list[tuple[object, ...]]:
    return [
        (d.updates, list(d.lines), d.skipped, list(d.milestones), d.milestones_skipped)
        + (d.progress, d.progress_t)
        for d in digests
    ]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("p"), st.integers(0, 3), st.integers(0, 10**6)),
            st.tuples(st.just("bad"), st.just(0), st.just(0)),
            st.tuples(st.just("err"), st.just(0), st.just(0)),
        ),
        max_size=MAX_LINES + 60,
    )
)
def test_progress_fast_path_folds_like_the_general_path(script: list[tuple[str, int, int]]) -> None:
    fast: list[RunUpdate] = []
    slow: list[RunUpdate] = []
    for i, (kind, worker, done) in enumerate(script):
        raw = f'{{"event":"progress","t":{i / 10},"worker":{worker},"done":{done},"total":9}}'
        if kind == "p":
            fast.append(new_event_received(i / 10, new_progress_event(i / 10, worker, done, 9), raw))
            slow.append(EventReceived(i / 10, SlowProgress(i / 10, worker, done, 9), raw))
        elif kind == "bad":
            bad = EventReceived(i / 10, MalformedLine(raw="x", reason="not JSON"), "x")
            fast.append(bad)
            slow.append(bad)
        else:
            fast.append(StderrReceived(i / 10, "warning"))
            slow.append(StderrReceived(i / 10, "warning"))
    assert summary(fold(fast)) == summary(fold(slow))
