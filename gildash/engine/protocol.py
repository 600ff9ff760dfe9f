"""Workload stdout lines (protocol v1 and v2, docs/protocol.md) -> frozen event dataclasses.

Owns parsing and validation of one line at a time plus a small tally of a run's events.
`parse_line` never raises: anything it cannot trust becomes a `MalformedLine` with a one-line reason.
Never imports textual; no I/O.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from gildash.engine.model import (
    ErrorEvent,
    MalformedLine,
    ProgressEvent,
    ProtocolEvent,
    RunResult,
    RunSpec,
    RunStatus,
    Scaling,
    SlicesEvent,
    Span,
    StartEvent,
    SummaryEvent,
    Target,
    TimelineSpec,
    WorkerDoneEvent,
    _object_new,
    _set_progress_dict,
    new_progress_event,
)
from gildash.engine.timeline import (
    TimelineBuilder,
    handoffs_per_s,
    median_slice_ms,
    merge_spans,
    parallel_overlap,
)

MAX_WORKERS = 100_000
"""Worker indexes and thread counts above this are treated as garbage, not data."""
MAX_SECONDS = 1e9
"""Durations above ~31 years are garbage too."""
MAX_SPANS = 200_000
"""More spans than this in one `slices` line is garbage (a worker sends a few hundred per batch)."""

GIL_WARNING_RE = re.compile(
    r"The global interpreter lock \(GIL\) has been enabled to load module '([^']+)'",
)
"""CPython's stderr RuntimeWarning when an extension module without Py_mod_gil re-enables the GIL."""


def gil_reenabled_module(stderr_line: str) -> str | None:
    """The module named in CPython's 'GIL has been enabled to load module X' warning, else None."""
    match = GIL_WARNING_RE.search(stderr_line)
    return match.group(1) if match else None


_progress_match = re.compile(
    r'\{"event":"progress","t":((?:0|[1-9][0-9]{0,9}+)(?:\.[0-9]{1,17}+)?+),"worker":(0|[1-9][0-9]{0,5}+),'
    r'"done":(0|[1-9][0-9]{0,17}+),"total":(0|[1-9][0-9]{0,17}+)\}'
).fullmatch
"""The progress line exactly as the bundled workloads print it (compact JSON, keys in this order). A line
it matches is one JSON object whose values parse as json does (float(t), int(...)); short numbers only, so
every int is exact and t converts exactly as json would have read it (float of an int <= 10 digits).
Possessive quantifiers (never give digits back): what follows a number is never a digit, so they match
the same lines, without the backtracking bookkeeping."""


def _narrow_progress_line(group: str) -> str:
    """_progress_match's line, narrowed so that a matched line needs no range check: t below 1e9
    (<= MAX_SECONDS) and worker at most MAX_WORKERS. group opens each value's group: "(" or "(?:"."""
    return (
        rf'\{{"event":"progress","t":{group}(?:0|[1-9][0-9]{{0,8}}+)(?:\.[0-9]{{1,17}}+)?+),'
        rf'"worker":{group}100000|0|[1-9][0-9]{{0,4}}+),"done":{group}0|[1-9][0-9]{{0,17}}+),'
        rf'"total":{group}0|[1-9][0-9]{{0,17}}+)\}}'
    )


_progress_rows = re.compile(f"^{_narrow_progress_line('(')}$", re.MULTILINE).findall
"""_progress_match for every line of a block at once, narrowed (see _narrow_progress_line). No character it
matches is a newline, so each row is one whole line; lines just outside the narrowing (t = 1e9 exactly)
take parse_line like any other."""

_progress_block = re.compile("(?:{0}\n)*+{0}".format(_narrow_progress_line("(?:")).encode("ascii")).fullmatch
"""A whole block of lines joined with newlines, each one a line _progress_rows matches (and nothing else:
not one blank line, no trailing newline). Matches in one pass and builds nothing."""

_NUMBER_BYTES = bytes(c if chr(c) in "0123456789." else ord(" ") for c in range(256))
"""bytes.translate table: digits and the decimal point kept, every other byte a space. In a block that
_progress_block matched, what is left is each line's t, worker, done and total, in order."""


ProgressColumns = tuple[list[float], list[int], list[int], list[int]]
"""A block of progress lines column by column: each line's t, worker, done and total, in line order."""


def parse_progress_columns(block: bytes) -> ProgressColumns | None:
    """The fields of a block of lines (joined with newlines) when every line is a progress line in the
    bundled workloads' exact shape (what parse_line makes of each, column by column); None when any line
    is not.

    A flood is nearly all such blocks: one regex pass to check them, one C-level split for their numbers
    and one C-level conversion per column, no Python step per line; the events themselves are built only
    when someone asks for them. The numbers are ASCII bytes: int() and float() read them exactly as they
    read the same text, without first copying it to ASCII.
    """
    if _progress_block(block) is None:
        return None
    numbers = block.translate(_NUMBER_BYTES).split()
    return (
        list(map(float, numbers[0::4])),
        _repeated_ints(numbers[1::4]),
        list(map(int, numbers[2::4])),
        _repeated_ints(numbers[3::4]),
    )


def _repeated_ints(column: list[bytes]) -> list[int]:
    """list(map(int, column)) for a column whose values repeat (a worker prints the same index and total on
    every line): each distinct value is converted once."""
    values = {text: int(text) for text in dict.fromkeys(column)}
    return list(map(values.__getitem__, column))


def parse_progress_block(block: str, lines: int) -> list[ProgressEvent] | None:
    """The events of a block of `lines` lines (parse_progress_columns' lines as ProgressEvents); None when
    any line is not a progress line in the bundled workloads' exact shape."""
    if block.count("\n") != lines - 1:
        return None
    # A lone surrogate cannot be a progress line: passed through, it fails the match like any other byte.
    columns = parse_progress_columns(block.encode("utf-8", "surrogatepass"))
    return None if columns is None else list(map(new_progress_event, *columns))


class _Invalid(Exception):
    """Internal: a field failed validation; the message becomes MalformedLine.reason."""


def parse_line(raw: bytes | str, *, truncated: bool = False) -> ProtocolEvent:
    """Parse one stdout line into a protocol event; never raises (bad input -> MalformedLine)."""
    if type(raw) is str and not truncated:
        # The hot case, inlined (a flood is nearly all well-formed progress lines and every step counts):
        # exactly one JSON object whose fields pass the checks _parse_progress makes. Anything else, or
        # any doubt (an exception included), takes the full path below, which re-parses the line and
        # gives the usual event or reason.
        text = raw.strip()
        match = _progress_match(text)
        if match is not None:
            t_text, worker_text, done_text, total_text = match.groups()
            t, worker = float(t_text), int(worker_text)
            if worker <= MAX_WORKERS and t <= MAX_SECONDS:
                # new_progress_event inlined: one call less per line
                event: ProgressEvent = _object_new(ProgressEvent)
                _set_progress_dict(
                    event, {"t": t, "worker": worker, "done": int(done_text), "total": int(total_text)}
                )
                return event
        try:
            obj, end = _SCAN(text, 0)
            if end == len(text) and type(obj) is dict and obj["event"] == "progress":
                return _parse_progress(obj)  # its own fast check; a bad one raises and takes the full path
        except Exception:  # StopIteration, JSON errors, non-finite constants, deep nesting, a missing key
            pass
    return _parse_full(raw, truncated)


def _parse_full(raw: bytes | str, truncated: bool) -> ProtocolEvent:
    """parse_line for every line: decode, strip, refuse truncated lines, parse and validate."""
    if type(raw) is str:  # the runner decodes: skip the conversions below
        text = raw
    else:
        try:
            text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else str(raw)
        except Exception:  # a str subclass with a broken __str__: still never raise
            return MalformedLine(raw="", reason="undecodable line", truncated=truncated)
    text = text.strip()
    if truncated:
        # A cut line is never trusted even if the prefix happens to parse.
        return MalformedLine(raw=text, reason="line too long, truncated", truncated=True)
    try:
        return _parse_text(text)
    except _Invalid as exc:
        return MalformedLine(raw=text, reason=_one_line(str(exc)))
    except Exception as exc:  # defence in depth: the contract is "never raises"
        return MalformedLine(raw=text, reason=_one_line(f"unparseable line ({type(exc).__name__})"))


def _one_line(reason: str) -> str:
    return " ".join(reason.split())[:200]


def _reject_constant(name: str) -> float:
    raise _Invalid(f"non-finite number {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
"""Built once: json.loads(text, parse_constant=...) would build a new decoder for every line."""
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(_DECODER)["scan_once"]  # typeshed omits the attribute
"""The decoder's value scanner (C): one JSON value from an index, without the whitespace regexes."""


def _decode(text: str) -> Any:
    """json.loads(text) for a stripped line, same result and same errors, faster for the common case."""
    if text.startswith("\ufeff"):  # json.loads refuses a BOM; the decoder itself would not check
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        obj, end = _SCAN(text, 0)  # text is stripped, so no JSON whitespace can lead or trail it
    except StopIteration:
        end = -1
    if end == len(text):
        return obj
    return _DECODER.decode(text)  # not exactly one JSON value: the full decoder raises its usual error


def _parse_text(text: str) -> ProtocolEvent:
    if not text:
        raise _Invalid("empty line")
    try:
        obj = _decode(text)
    except _Invalid:
        raise
    except RecursionError:
        raise _Invalid("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int-too-long errors
        raise _Invalid(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _Invalid(f"not a JSON object (got {type(obj).__name__})")
    event = obj.get("event")
    if event is None:
        return _parse_foreign(obj)
    if not isinstance(event, str):
        raise _Invalid("'event' is not a string")
    parser = _PARSERS.get(event)
    if parser is None:
        raise _Invalid(f"unknown event {event[:40]!r}")
    return parser(obj)


# --- field helpers -------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    # bool is an int subclass; true/false are not numbers in this protocol.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _present(obj: Mapping[str, Any], key: str, required: bool) -> Any:
    """obj[key], None when absent; _Invalid when a required key is absent."""
    value = obj.get(key)
    if value is None and required:
        raise _Invalid(f"missing {key!r}")
    return value


def _seconds(
    obj: Mapping[str, Any], key: str, *, required: bool, default: float | None = None
) -> float | None:
    value = _present(obj, key, required)
    if value is None:
        return default
    if not _is_number(value):
        raise _Invalid(f"{key!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise _Invalid(f"{key!r} is not finite")
    if number < 0:
        raise _Invalid(f"{key!r} is negative")
    if number > MAX_SECONDS:
        raise _Invalid(f"{key!r} is absurdly large")
    return number


def _req_seconds(obj: Mapping[str, Any], key: str) -> float:
    value = _seconds(obj, key, required=True)
    assert value is not None
    return value


def _t(obj: Mapping[str, Any]) -> float:
    value = _seconds(obj, "t", required=False, default=0.0)
    return 0.0 if value is None else value


def _int(
    obj: Mapping[str, Any], key: str, *, required: bool, low: int = 0, high: int | None = None
) -> int | None:
    value = _present(obj, key, required)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(f"{key!r} is not an integer")
    if value < low or (high is not None and value > high):
        raise _Invalid(f"{key!r} out of range: {value}")
    return value


def _req_int(obj: Mapping[str, Any], key: str, *, low: int = 0, high: int | None = None) -> int:
    value = _int(obj, key, required=True, low=low, high=high)
    assert value is not None
    return value


def _opt_bool(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _Invalid(f"{key!r} is not a boolean")
    return value


def _str(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = _present(obj, key, required)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(f"{key!r} is not a string")
    return value


def _dict(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(f"{key!r} is not an object")
    return value


def _check_params(params: Mapping[str, Any]) -> None:
    _int(params, "threads", required=False, low=0, high=MAX_WORKERS)
    _int(params, "size", required=False, low=0)
    executor = params.get("executor")
    if executor is not None and executor not in ("thread", "process"):
        raise _Invalid("'params.executor' must be 'thread' or 'process'")


# --- native events -------------------------------------------------------------------------------


def _parse_start(obj: Mapping[str, Any]) -> StartEvent:
    params = _dict(obj, "params")
    _check_params(params)
    scaling = obj.get("scaling", "none")
    if scaling not in ("weak", "strong", "none"):
        raise _Invalid("'scaling' must be 'weak', 'strong' or 'none'")
    interp = _dict(obj, "interpreter")
    return StartEvent(
        t=_t(obj),
        workload=_str(obj, "workload"),
        params=params,
        scaling=_as_scaling(scaling),
        pid=_int(obj, "pid", required=False, low=1),
        implementation=_str(interp, "implementation"),
        version=_str(interp, "version"),
        executable=_str(interp, "executable"),
        free_threaded=_opt_bool(interp, "free_threaded"),
        gil_enabled=_opt_bool(interp, "gil_enabled"),
        cpu_count=_int(obj, "cpu_count", required=False, low=1, high=MAX_WORKERS),
        protocol=_int(obj, "protocol", required=False, low=0, high=1000) or 1,
        timeline=_timeline_spec(obj.get("timeline")),
        switch_interval_s=_positive_or_none(params.get("switch_interval_s")),
    )


def _positive_or_none(value: Any) -> float | None:
    """A finite positive number as float, else None (optional descriptive fields never reject a line)."""
    if not _is_number(value):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0 < number <= MAX_SECONDS else None


def _timeline_spec(value: Any) -> TimelineSpec | None:
    """The start line's `timeline` object; anything without a usable gap_s means no self-timing."""
    if not isinstance(value, dict):
        return None
    gap = _positive_or_none(value.get("gap_s"))
    if gap is None:
        return None
    every = value.get("check_every")
    unit = value.get("check_unit")
    return TimelineSpec(
        gap_s=gap,
        flush_s=_positive_or_none(value.get("flush_s")),
        check_every=every if isinstance(every, int) and not isinstance(every, bool) and every > 0 else None,
        check_unit=unit[:40] if isinstance(unit, str) else "",
    )


def _as_scaling(value: str) -> Scaling:
    if value == "weak":
        return "weak"
    if value == "strong":
        return "strong"
    return "none"


def _parse_progress(obj: Mapping[str, Any]) -> ProgressEvent:
    # Fast path for the hot, well-formed shape (exact types, in range): the same event the checks below
    # would build, at a fraction of the cost. Anything else takes the full validation and its reasons.
    t, worker, done, total = obj.get("t"), obj.get("worker"), obj.get("done"), obj.get("total")
    if (
        type(worker) is int
        and type(done) is int
        and type(total) is int
        and (type(t) is float or type(t) is int)
        and 0 <= worker <= MAX_WORKERS
        and done >= 0
        and total >= 0
        and 0 <= t <= MAX_SECONDS  # also false for NaN; inf is above MAX_SECONDS
    ):
        return new_progress_event(float(t), worker, done, total)
    return _parse_progress_checked(obj)


def _parse_progress_checked(obj: Mapping[str, Any]) -> ProgressEvent:
    done = _req_int(obj, "done")
    total = _req_int(obj, "total")
    return ProgressEvent(t=_t(obj), worker=_req_int(obj, "worker", high=MAX_WORKERS), done=done, total=total)


def _parse_worker_done(obj: Mapping[str, Any]) -> WorkerDoneEvent:
    return _worker_done(obj, "worker", "duration_s", "cpu_s")


def _worker_done(obj: Mapping[str, Any], worker: str, duration: str, cpu: str) -> WorkerDoneEvent:
    """A worker_done event from the keys a line names its fields by (native and foreign lines differ)."""
    return WorkerDoneEvent(
        t=_t(obj),
        worker=_req_int(obj, worker, high=MAX_WORKERS),
        duration_s=_req_seconds(obj, duration),
        cpu_s=_seconds(obj, cpu, required=False),
        result=obj.get("result"),
    )


def _spans(obj: Mapping[str, Any], key: str) -> tuple[tuple[Span, ...], int]:
    """A list of [start, end] pairs -> sorted disjoint spans, and how many were left out or merged.

    The list itself must be a list (else the line is malformed); a bad pair is dropped, not fatal.
    """
    value = obj.get(key)
    if value is None:
        return (), 0
    if not isinstance(value, list):
        raise _Invalid(f"{key!r} is not a list")
    if len(value) > MAX_SPANS:
        raise _Invalid(f"{key!r} has too many spans ({len(value)})")
    good: list[Span] = []
    for pair in value:
        if (
            isinstance(pair, list)
            and len(pair) == 2
            and _is_number(pair[0])
            and _is_number(pair[1])
            and 0 <= pair[0] < pair[1] <= MAX_SECONDS  # also false for NaN (inf is above the bound)
        ):
            good.append((float(pair[0]), float(pair[1])))
    merged, overlapped = merge_spans(good)
    return tuple(merged), len(value) - len(good) + overlapped


def _parse_slices(obj: Mapping[str, Any]) -> SlicesEvent:
    slices, bad_slices = _spans(obj, "slices")
    blocked, bad_blocked = _spans(obj, "blocked")
    return SlicesEvent(
        t=_t(obj),
        worker=_req_int(obj, "worker", high=MAX_WORKERS),
        slices=slices,
        blocked=blocked,
        repaired=bad_slices + bad_blocked,
    )


def _parse_summary(obj: Mapping[str, Any]) -> SummaryEvent:
    ok = obj.get("ok")
    if not isinstance(ok, bool):
        raise _Invalid("'ok' is missing or not a boolean")
    return _summary(obj, ok, "wall_s", wall_total="wall_total_s", aborted="aborted", metrics=None)


def _summary(
    obj: Mapping[str, Any],
    ok: bool,
    wall: str,
    *,
    wall_total: str | None,
    aborted: str | None,
    metrics: dict[str, Any] | None,
) -> SummaryEvent:
    """A summary event from the keys a line names its fields by (None: a foreign line has no such key;
    metrics None: the line's own 'metrics' object). Fields are checked in the same order for both."""
    return SummaryEvent(
        t=_t(obj),
        wall_s=_req_seconds(obj, wall),
        wall_total_s=None if wall_total is None else _seconds(obj, wall_total, required=False),
        cpu_user_s=_seconds(obj, "cpu_user_s", required=False),
        cpu_sys_s=_seconds(obj, "cpu_sys_s", required=False),
        cpu_s=_seconds(obj, "cpu_s", required=False),
        ok=ok,
        result=obj.get("result"),
        gil_enabled=_opt_bool(obj, "gil_enabled"),
        aborted=aborted is not None and bool(_opt_bool(obj, aborted)),
        metrics=_dict(obj, "metrics") if metrics is None else metrics,
    )


def _parse_error(obj: Mapping[str, Any]) -> ErrorEvent:
    traceback = obj.get("traceback")
    if traceback is not None and not isinstance(traceback, str):
        raise _Invalid("'traceback' is not a string")
    return ErrorEvent(t=_t(obj), message=_str(obj, "message", required=True), traceback=traceback)


_PARSERS: dict[str, Callable[[Mapping[str, Any]], ProtocolEvent]] = {
    "start": _parse_start,
    "progress": _parse_progress,
    "worker_done": _parse_worker_done,
    "slices": _parse_slices,
    "summary": _parse_summary,
    "error": _parse_error,
}


# --- foreign shapes (benchmark blog scripts) -----------------------------------------------------


def _parse_foreign(obj: Mapping[str, Any]) -> ProtocolEvent:
    if obj.get("config") is True:
        threads = obj.get("num_threads", obj.get("threads"))
        params: dict[str, Any] = {k: v for k, v in obj.items() if k != "config"}
        if threads is not None:
            params["threads"] = threads
        _check_params(params)
        return StartEvent(
            t=_t(obj),
            workload=_str(obj, "workload") or _str(obj, "benchmark"),
            params=params,
            scaling="none",
            pid=_int(obj, "pid", required=False, low=1),
            implementation=_str(obj, "implementation"),
            version=_str(obj, "python_version") or _str(obj, "version"),
            executable=_str(obj, "executable"),
            free_threaded=_opt_bool(obj, "free_threaded"),
            gil_enabled=_opt_bool(obj, "gil_enabled"),
            cpu_count=_int(obj, "cpu_count", required=False, low=1, high=MAX_WORKERS),
        )
    if "thread_index" in obj and "duration_sec" in obj:
        return _worker_done(obj, "thread_index", "duration_sec", "cpu_sec")
    if obj.get("summary") is True:
        ok = obj.get("ok", True)
        if not isinstance(ok, bool):
            raise _Invalid("'ok' is not a boolean")
        threads = _int(obj, "num_threads", required=False, low=0, high=MAX_WORKERS)
        metrics = {} if threads is None else {"num_threads": threads}
        return _summary(obj, ok, "total_duration_sec", wall_total=None, aborted=None, metrics=metrics)
    raise _Invalid("missing 'event'")


# --- tally ---------------------------------------------------------------------------------------


class EventTally:
    """Accumulates what a run's stdout said: start, summary, error, per-worker durations, bad lines.

    Shared by the live runner and by recording reconstruction so both derive results the same way.
    """

    timeline: TimelineBuilder
    """The workers' on-CPU slices and blocked spans so far (from `slices` events)."""

    def __init__(self) -> None:
        self.timeline = TimelineBuilder()
        self.start: StartEvent | None = None
        self.summary: SummaryEvent | None = None
        self.error: ErrorEvent | None = None
        self.worker_durations: dict[int, float] = {}
        self.malformed = 0
        self.truncated = 0
        self.last_progress: dict[int, ProgressEvent] = {}

    def add(self, event: ProtocolEvent) -> None:
        """Fold one parsed event into the tally (first start/summary/error win; later ones ignored)."""
        if isinstance(event, ProgressEvent):  # first: nearly every line of a run is one
            self.last_progress[event.worker] = event
        elif isinstance(event, MalformedLine):
            self.malformed += 1
            if event.truncated:
                self.truncated += 1
        elif isinstance(event, StartEvent):
            if self.start is None:
                self.start = event
        elif isinstance(event, SummaryEvent):
            if self.summary is None:
                self.summary = event
        elif isinstance(event, ErrorEvent):
            if self.error is None:
                self.error = event
        elif isinstance(event, WorkerDoneEvent):
            self.worker_durations[event.worker] = event.duration_s
        elif isinstance(event, SlicesEvent):
            self.timeline.add(event)

    def durations(self) -> tuple[float, ...]:
        """worker_done durations ordered by worker index."""
        return tuple(self.worker_durations[k] for k in sorted(self.worker_durations))

    def ran_threads(self, asked: int) -> int:
        """Workers the run really had: the start line's count (single_thread always runs one), else asked."""
        ran = _reported_int(self.start, "threads")
        return ran if ran is not None and ran >= 1 else asked

    def effective_cores(self) -> float | None:
        """summary.cpu_s / summary.wall_s when both are known and wall_s > 0."""
        summary = self.summary
        if summary is None or summary.cpu_s is None or summary.wall_s <= 0:
            return None
        return summary.cpu_s / summary.wall_s

    def result(
        self,
        spec: RunSpec,
        *,
        run_id: str,
        status: RunStatus,
        message: str,
        harness_wall_s: float,
        noisy: bool,
        gil_module: str | None,
        stderr_tail: str,
        started_at: float,
        sampled_cores: float | None = None,
        sampled_cpu: tuple[float | None, float | None] = (None, None),
        exit_code: int | None = None,
        signal: int | None = None,
        recording: str | None = None,
        complete: bool = True,
    ) -> RunResult:
        """The RunResult this tally describes; sampled_* fill in what the workload did not report."""
        start, summary = self.start, self.summary
        start_gil = start.gil_enabled if start else None
        end_gil = summary.gil_enabled if summary else None
        reenabled = gil_was_reenabled(spec.target, start_gil, end_gil, gil_module)
        effective = self.effective_cores()
        if effective is None:
            effective = sampled_cores
        size = _reported_int(start, "size")
        if size is None:
            size = spec.size
        threads = self.ran_threads(spec.threads)
        user = summary.cpu_user_s if summary and summary.cpu_user_s is not None else sampled_cpu[0]
        system = summary.cpu_sys_s if summary and summary.cpu_sys_s is not None else sampled_cpu[1]
        timeline = self.timeline.snapshot()
        return RunResult(
            run_id=run_id,
            workload=spec.workload,
            target=spec.target,
            threads=threads,
            size=size,
            executor=spec.executor,
            scaling=start.scaling if start else "none",
            status=status,
            wall_s=summary.wall_s if summary else None,
            harness_wall_s=harness_wall_s,
            cpu_user_s=user,
            cpu_sys_s=system,
            effective_cores=effective if effective is None or math.isfinite(effective) else None,
            ok=status == "ok",
            exit_code=exit_code,
            signal=signal,
            noisy=noisy,
            gil_enabled_start=start_gil,
            gil_enabled_end=end_gil,
            gil_reenabled=reenabled,
            gil_reenabled_by=gil_module if reenabled else None,
            malformed_lines=self.malformed,
            truncated_lines=self.truncated,
            stderr_tail=stderr_tail,
            message=message,
            worker_durations=self.durations(),
            result_value=summary.result if summary else None,
            metrics=dict(summary.metrics) if summary else {},
            started_at=started_at,
            recording=recording,
            complete=complete,
            requested_threads=spec.threads if threads != spec.threads else None,
            sweep_id=spec.sweep_id,
            warmup=spec.warmup,
            calibration=spec.calibration,
            parallel_overlap=parallel_overlap(timeline),
            median_slice_ms=median_slice_ms(timeline),
            handoffs_per_s=handoffs_per_s(timeline),
            switch_interval_s=start.switch_interval_s if start else None,
        )


def _reported_int(start: StartEvent | None, key: str) -> int | None:
    """An int parameter of the start line (None when absent or not an int)."""
    value = start.params.get(key) if start else None
    return None if isinstance(value, bool) or not isinstance(value, int) else value


def gil_was_reenabled(
    target: Target, start_gil: bool | None, end_gil: bool | None, warned: str | None
) -> bool:
    """A free-threaded target ran with the GIL turned back on mid-run (not forced on from the start).

    True when the start line said the GIL was off and the summary says on, or CPython's stderr warning
    named a module; never for a '+gil' target (PYTHON_GIL=1, GIL on from the first instruction).
    """
    if target.gil_mode != "free-threaded":
        return False
    return (start_gil is False and end_gil is True) or warned is not None
