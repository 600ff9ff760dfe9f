"""On-CPU slices of a run's workers -> parallel overlap, median slice, hand-offs, windows (pure).

Owns the maths over `Timeline` values and `TimelineBuilder`, the one accumulator of a run's `slices`
events (live in EventTally, in recording reconstruction, in a panel's own copy). Times are seconds in
the workload's clock (the events' `t`). Never imports textual; no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from gildash.engine.model import SlicesEvent, Span, Timeline, WorkerTrack

REPORT_STALE_S = 1.0
"""A worker whose last batch ends this long before the newest (done, or asleep) no longer holds the live
edge back; a working one reports about every 0.25 s."""


def merge_spans(spans: Iterable[Span]) -> tuple[list[Span], int]:
    """Sort spans and merge overlapping or touching ones; (merged, how many overlapped another)."""
    out: list[Span] = []
    overlapped = 0
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            if start < out[-1][1]:
                overlapped += 1
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
            continue
        out.append((start, end))
    return out, overlapped


class _Row:
    """One worker's spans of one kind, kept sorted and disjoint as batches arrive."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def add(self, spans: Iterable[Span]) -> int:
        """Append spans in order; returns how many had to be clipped or dropped (out of order)."""
        starts, ends = self.starts, self.ends
        repaired = 0
        for start, end in spans:
            if ends and start <= ends[-1]:
                if start == ends[-1]:  # a slice split at a batch boundary: one slice again
                    ends[-1] = max(ends[-1], end)
                    continue
                repaired += 1
                if end > ends[-1]:  # overlaps the last span: keep only the new part, merged
                    ends[-1] = end
                continue
            starts.append(start)
            ends.append(end)
        return repaired

    def spans(self, lo: float | None = None, hi: float | None = None) -> tuple[Span, ...]:
        """The spans, clipped to [lo, hi] where given (binary search: cheap for a short window)."""
        starts, ends = self.starts, self.ends
        first = 0 if lo is None else bisect_right(ends, lo)
        out: list[Span] = []
        for i in range(first, len(starts)):
            start, end = starts[i], ends[i]
            if hi is not None and start >= hi:
                break
            if lo is not None and start < lo:
                start = lo
            if hi is not None and end > hi:
                end = hi
            if end > start:
                out.append((start, end))
        return tuple(out)


class TimelineBuilder:
    """Accumulates a run's `slices` events into per-worker rows; snapshot() and window() are frozen."""

    def __init__(self) -> None:
        self._slices: dict[int, _Row] = {}
        self._blocked: dict[int, _Row] = {}
        self.repaired = 0
        """Spans dropped or clipped so far (from the events and from out-of-order batches)."""
        self.latest = 0.0
        """The latest span end seen."""
        self._reported: dict[int, float] = {}
        """Per worker, the end of its latest span: it has reported everything before that."""

    def add(self, event: SlicesEvent) -> None:
        """Fold one batch in; spans overlapping what a worker already reported are clipped or dropped."""
        self.repaired += event.repaired
        for spans, rows in ((event.slices, self._slices), (event.blocked, self._blocked)):
            if spans:
                self.repaired += rows.setdefault(event.worker, _Row()).add(spans)
                end = spans[-1][1]
                self._reported[event.worker] = max(self._reported.get(event.worker, end), end)
                self.latest = max(self.latest, end)

    def live_edge(self) -> float:
        """Where a live window ends: the latest moment up to which every worker still at work reported.

        Workers send their spans about every 0.25 s, each at a moment of its own: a window ending at
        `latest` would draw the workers that reported first as off the CPU for what they have not sent yet.
        """
        current = [end for end in self._reported.values() if end >= self.latest - REPORT_STALE_S]
        return min(current, default=self.latest)

    def __bool__(self) -> bool:
        return bool(self._slices or self._blocked)

    def window(self, start: float | None = None, end: float | None = None) -> Timeline:
        """The spans inside [start, end] (None: unbounded), clipped to it."""
        workers = sorted(set(self._slices) | set(self._blocked))
        empty = _Row()
        tracks = tuple(
            WorkerTrack(
                worker=w,
                slices=self._slices.get(w, empty).spans(start, end),
                blocked=self._blocked.get(w, empty).spans(start, end),
            )
            for w in workers
        )
        return Timeline(tracks=tracks, start=start, end=end, repaired=self.repaired)

    def snapshot(self) -> Timeline:
        """The whole timeline so far."""
        return self.window(None, None)


def timeline_from_events(events: Iterable[SlicesEvent]) -> Timeline:
    """A Timeline from slices events in arrival order."""
    builder = TimelineBuilder()
    for event in events:
        builder.add(event)
    return builder.snapshot()


def extent(timeline: Timeline) -> Span | None:
    """The timeline's wall span: its window where set, else first span start to last span end."""
    starts = [spans[0][0] for t in timeline.tracks for spans in (t.slices, t.blocked) if spans]
    ends = [spans[-1][1] for t in timeline.tracks for spans in (t.slices, t.blocked) if spans]
    lo = timeline.start if timeline.start is not None else (min(starts) if starts else None)
    hi = timeline.end if timeline.end is not None else (max(ends) if ends else None)
    if lo is None or hi is None or hi <= lo:
        return None
    return (lo, hi)


def window(timeline: Timeline, start: float, end: float) -> Timeline:
    """The slices and blocked spans of `timeline` inside [start, end], clipped to it."""
    tracks = tuple(
        WorkerTrack(t.worker, _clip(t.slices, start, end), _clip(t.blocked, start, end))
        for t in timeline.tracks
    )
    return Timeline(tracks=tracks, start=start, end=end, repaired=timeline.repaired)


def _clip(spans: Sequence[Span], start: float, end: float) -> tuple[Span, ...]:
    out = []
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if b > a:
            out.append((a, b))
    return tuple(out)


def _on_cpu_workers(timeline: Timeline) -> int:
    return sum(1 for t in timeline.tracks if t.slices)


def parallel_overlap(timeline: Timeline) -> float | None:
    """Share 0..1 of the timeline's wall span with two or more workers on the CPU at once.

    None with fewer than two workers that were ever on the CPU (there is nothing to overlap).
    """
    span = extent(timeline)
    if span is None or _on_cpu_workers(timeline) < 2:
        return None
    lo, hi = span
    edges: list[tuple[float, int]] = []
    for track in timeline.tracks:
        for a, b in track.slices:
            a, b = max(a, lo), min(b, hi)
            if b > a:
                edges.append((a, 1))
                edges.append((b, -1))
    edges.sort()  # at equal times an end (-1) sorts before a start: touching slices never overlap
    running = 0
    since = lo
    both = 0.0
    for t, step in edges:
        if running >= 2:
            both += t - since
        running += step
        since = t
    return min(1.0, max(0.0, both / (hi - lo)))


def slice_durations(timeline: Timeline) -> list[float]:
    """Every on-CPU slice's length in seconds, all workers."""
    return [b - a for track in timeline.tracks for a, b in track.slices]


def median_slice_ms(timeline: Timeline) -> float | None:
    """Median on-CPU slice of all workers in milliseconds; None without slices."""
    durations = slice_durations(timeline)
    if not durations:
        return None
    import statistics  # lazy: the dashboard imports this module before its first frame, needs it after

    return 1000.0 * statistics.median(durations)


def handoffs(timeline: Timeline) -> int:
    """Times the CPU passed from one worker to another: a slice that starts after every slice begun
    before it has ended, on another worker than the one whose slice ended last."""
    ordered = sorted((a, b, track.worker) for track in timeline.tracks for a, b in track.slices)
    count = 0
    frontier_end: float | None = None
    frontier_worker = -1
    for a, b, worker in ordered:
        if frontier_end is not None and a >= frontier_end and worker != frontier_worker:
            count += 1
        if frontier_end is None or b > frontier_end:
            frontier_end, frontier_worker = b, worker
    return count


def handoffs_per_s(timeline: Timeline) -> float | None:
    """Hand-offs per second of the timeline's wall span; None with fewer than two workers on the CPU."""
    span = extent(timeline)
    if span is None or _on_cpu_workers(timeline) < 2:
        return None
    return handoffs(timeline) / (span[1] - span[0])
