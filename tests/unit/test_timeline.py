"""timeline: overlap, median slice, hand-offs and windows over per-worker slices (property-tested)."""

from __future__ import annotations

import statistics
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gildash.engine.model import SlicesEvent, Span, Timeline, WorkerTrack
from gildash.engine.timeline import (
    TimelineBuilder,
    extent,
    handoffs,
    handoffs_per_s,
    median_slice_ms,
    merge_spans,
    parallel_overlap,
    timeline_from_events,
    window,
)


def _track(worker: int, slices: list[Span], blocked: list[Span] | None = None) -> WorkerTrack:
    return WorkerTrack(worker, tuple(slices), tuple(blocked or ()))


def _zipper(workers: int, turns: int, length: float, gap: float = 0.0) -> Timeline:
    """Workers take turns on one CPU: turn k belongs to worker k % workers."""
    spans: dict[int, list[Span]] = {w: [] for w in range(workers)}
    t = 0.0
    for k in range(turns):
        spans[k % workers].append((t, t + length))
        t += length + gap
    return Timeline(tuple(_track(w, s) for w, s in spans.items()))


@st.composite
def worker_spans(draw: st.DrawFn, lo: float = 0.0) -> list[Span]:
    """Sorted, disjoint spans of one worker: alternating on/off lengths from a start."""
    t = lo + draw(st.floats(0, 1))
    spans: list[Span] = []
    for on, off in draw(st.lists(st.tuples(st.floats(1e-4, 1), st.floats(1e-4, 1)), max_size=12)):
        spans.append((t, t + on))
        t += on + off
    return spans


timelines = st.lists(worker_spans(), min_size=0, max_size=4).map(
    lambda rows: Timeline(tuple(_track(w, s) for w, s in enumerate(rows)))
)


def _measure(spans: list[Span]) -> float:
    """Length of the union of spans, by elementary intervals (independent of merge_spans)."""
    points = sorted({x for span in spans for x in span})
    return sum(b - a for a, b in pairwise(points) if any(s <= a and b <= e for s, e in spans))


# --- overlap ---------------------------------------------------------------------------------------


def test_gil_zipper_has_no_overlap_and_free_threaded_rows_overlap_fully() -> None:
    zipper = _zipper(2, 200, 0.005)
    assert parallel_overlap(zipper) == 0.0
    solid = Timeline((_track(0, [(0.0, 1.0)]), _track(1, [(0.0, 1.0)])))
    assert parallel_overlap(solid) == 1.0
    half = Timeline((_track(0, [(0.0, 1.0)]), _track(1, [(0.5, 1.0)])))
    assert parallel_overlap(half) == pytest.approx(0.5)


def test_overlap_needs_two_workers() -> None:
    assert parallel_overlap(Timeline()) is None
    assert parallel_overlap(Timeline((_track(0, [(0.0, 1.0)]),))) is None
    # a worker that only ever blocked is not on the CPU
    assert parallel_overlap(Timeline((_track(0, [(0.0, 1.0)]), _track(1, [], [(0.0, 1.0)])))) is None


@settings(max_examples=300, deadline=None)
@given(timelines)
def test_overlap_is_a_share_and_matches_a_pairwise_bound(timeline: Timeline) -> None:
    overlap = parallel_overlap(timeline)
    busy = [t for t in timeline.tracks if t.slices]
    if len(busy) < 2:
        assert overlap is None
        return
    span = extent(timeline)
    assert span is not None and overlap is not None and 0.0 <= overlap <= 1.0
    # time with 2+ on the CPU is at least the largest pairwise intersection, at most the sum of them
    pairwise = []
    for i, a in enumerate(busy):
        for b in busy[i + 1 :]:
            both = sum(max(0.0, min(x1, y1) - max(x0, y0)) for x0, x1 in a.slices for y0, y1 in b.slices)
            pairwise.append(both)
    wall = span[1] - span[0]
    assert max(pairwise) / wall - 1e-9 <= overlap <= sum(pairwise) / wall + 1e-9


@settings(max_examples=200, deadline=None)
@given(timelines, st.floats(-100, 100), st.floats(0.1, 10))
def test_overlap_does_not_depend_on_where_or_how_fast(timeline: Timeline, shift: float, scale: float) -> None:
    moved = Timeline(
        tuple(
            _track(t.worker, [(a * scale + shift + 200, b * scale + shift + 200) for a, b in t.slices])
            for t in timeline.tracks
        )
    )
    a, b = parallel_overlap(timeline), parallel_overlap(moved)
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert a == pytest.approx(b, abs=1e-6)


# --- median slice and hand-offs ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(timelines)
def test_median_slice_is_the_median_of_all_slices(timeline: Timeline) -> None:
    durations = [b - a for t in timeline.tracks for a, b in t.slices]
    got = median_slice_ms(timeline)
    if not durations:
        assert got is None
    else:
        assert got == pytest.approx(1000 * statistics.median(durations))
        assert 1000 * min(durations) - 1e-9 <= got <= 1000 * max(durations) + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 5), st.integers(1, 300), st.floats(1e-4, 0.05), st.floats(0, 1e-3))
def test_a_zipper_hands_off_at_every_turn(workers: int, turns: int, length: float, gap: float) -> None:
    zipper = _zipper(workers, turns, length, gap)
    assert handoffs(zipper) == turns - 1
    rate = handoffs_per_s(zipper)
    if turns < workers:
        busy = sum(1 for t in zipper.tracks if t.slices)
        if busy < 2:
            assert rate is None
            return
    assert rate == pytest.approx((turns - 1) / (turns * length + (turns - 1) * gap))
    assert median_slice_ms(zipper) == pytest.approx(1000 * length)


def test_parallel_rows_and_one_worker_do_not_hand_off() -> None:
    solid = Timeline((_track(0, [(0.0, 0.5), (0.5004, 1.0)]), _track(1, [(0.0001, 1.0)])))
    assert handoffs(solid) == 0 and handoffs_per_s(solid) == 0.0
    alone = Timeline((_track(0, [(0.0, 0.1), (0.2, 0.3)]),))
    assert handoffs(alone) == 0 and handoffs_per_s(alone) is None


@settings(max_examples=200, deadline=None)
@given(timelines)
def test_handoffs_are_bounded_by_the_slices(timeline: Timeline) -> None:
    count = sum(len(t.slices) for t in timeline.tracks)
    assert 0 <= handoffs(timeline) <= max(0, count - 1)


# --- windows and the builder -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(timelines, st.floats(-1, 15), st.floats(0, 15))
def test_window_keeps_exactly_what_lies_inside(timeline: Timeline, start: float, length: float) -> None:
    end = start + length
    cut = window(timeline, start, end)
    assert cut.start == start and cut.end == end
    for before, after in zip(timeline.tracks, cut.tracks, strict=True):
        assert after.worker == before.worker
        for a, b in after.slices:
            assert start <= a < b <= end
        inside = sum(max(0.0, min(b, end) - max(a, start)) for a, b in before.slices)
        assert sum(b - a for a, b in after.slices) == pytest.approx(inside, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(timelines, st.integers(1, 6), st.floats(-1, 15), st.floats(0, 15))
def test_builder_from_split_batches_equals_the_timeline(
    timeline: Timeline, pieces: int, start: float, length: float
) -> None:
    builder = TimelineBuilder()
    for track in timeline.tracks:
        # a worker's slices arrive in batches; a slice may be cut in two at a batch boundary
        spans = list(track.slices)
        events = []
        for k in range(pieces):
            part = spans[k * len(spans) // pieces : (k + 1) * len(spans) // pieces]
            if part:
                a, b = part[-1]
                mid = (a + b) / 2
                if a < mid < b:
                    part = [*part[:-1], (a, mid), (mid, b)]
            events.append(SlicesEvent(0.0, track.worker, tuple(part), ()))
        for event in events:
            builder.add(event)
    snapshot = builder.snapshot()
    assert builder.repaired == 0
    assert [t.slices for t in snapshot.tracks] == [t.slices for t in timeline.tracks if t.slices]
    cut = builder.window(start, start + length)
    expected = window(Timeline(snapshot.tracks), start, start + length)
    assert [t.slices for t in cut.tracks] == [t.slices for t in expected.tracks]


def test_builder_repairs_overlapping_and_late_batches() -> None:
    builder = TimelineBuilder()
    builder.add(SlicesEvent(0.0, 0, ((0.0, 1.0), (2.0, 3.0)), ((1.0, 2.0),)))
    builder.add(SlicesEvent(0.0, 0, ((2.5, 3.5),), ()))  # overlaps the last slice: clipped and merged
    builder.add(SlicesEvent(0.0, 0, ((0.2, 0.4),), ()))  # late: already covered, dropped
    builder.add(SlicesEvent(0.0, 1, ((0.5, 0.6),), (), repaired=2))
    timeline = builder.snapshot()
    assert timeline.tracks[0].slices == ((0.0, 1.0), (2.0, 3.5))
    assert timeline.tracks[0].blocked == ((1.0, 2.0),)
    assert timeline.repaired == 4 and builder.latest == 3.5
    assert timeline_from_events([]) == Timeline()


def test_live_edge_is_where_every_reporting_worker_has_reported() -> None:
    # Workers send their slices about every 0.25 s, each at its own moment: a live window ending at the
    # newest batch would draw the worker that reported first as off the CPU for what it has not sent yet.
    builder = TimelineBuilder()
    assert builder.live_edge() == 0.0
    builder.add(SlicesEvent(1.0, 0, ((0.80, 0.85), (0.90, 1.00)), ()))
    builder.add(SlicesEvent(1.2, 1, ((0.85, 0.90), (1.10, 1.20)), ()))
    assert builder.latest == 1.2 and builder.live_edge() == 1.0
    builder.add(SlicesEvent(1.3, 0, (), ((1.00, 1.30),)))  # a blocked span reports its time too
    assert builder.live_edge() == 1.2
    # A worker silent for longer than REPORT_STALE_S (done, or asleep) no longer holds the edge back.
    builder.add(SlicesEvent(3.0, 1, ((2.5, 3.0),), ()))
    assert builder.live_edge() == 3.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10)).map(lambda p: (min(p), max(p) + 1e-3))))
def test_merge_spans_keeps_the_measure_and_sorts(spans: list[Span]) -> None:
    merged, _ = merge_spans(spans)
    assert all(a[1] < b[0] for a, b in pairwise(merged))
    covered = _measure(spans)
    assert sum(b - a for a, b in merged) == pytest.approx(covered)
