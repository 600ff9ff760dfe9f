"""Append-only JSONL recordings of runs, their tolerant reader, and a replay source.

Owns: the recording file format (header line, then one record per line: run_start, line, stderr, sample,
cores, result), (de)serialisation of the shared dataclasses, and `ReplayRun`, which re-emits a recorded
run through the same interface as a live `Run`. Never overwrites a file that is not a gildash recording;
never imports textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import re
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gildash.engine import safejson, typed
from gildash.engine.machine import machine_from_dict
from gildash.engine.model import (
    CoreSample,
    EventReceived,
    ProcSample,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunStatus,
    RunUpdate,
    StderrReceived,
    Target,
    Timeline,
)
from gildash.engine.protocol import EventTally, gil_reenabled_module, parse_line
from gildash.engine.retention import lock_shared
from gildash.engine.safejson import plain
from gildash.engine.safeopen import check_regular, open_regular, reason

HEADER_KEY = "gildash_recording"
FORMAT_VERSION = 1


class RecordingError(Exception):
    """A recording that cannot be opened, read, or safely appended to (one-line message)."""


# --- serialisation -------------------------------------------------------------------------------


def to_json(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a model dataclass: strict JSON whatever it holds (see safejson.plain)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"not a dataclass instance: {type(obj).__name__}")
    data: dict[str, Any] = plain(obj)
    return data


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def target_from_json(data: Any) -> Target:
    """Inverse of to_json for a Target (unknown keys ignored); TypedError when a field does not fit."""
    return typed.build(Target, data, "target")


def spec_from_json(data: Any) -> RunSpec:
    """Inverse of to_json for a RunSpec; TypedError when a field does not fit."""
    return typed.build(RunSpec, data, "spec")


def result_from_json(data: Any) -> RunResult:
    """Inverse of to_json for a RunResult; TypedError when a field does not fit."""
    return typed.build(RunResult, data, "result", {"machine": machine_from_dict})


def sample_from_json(data: Any) -> ProcSample:
    """A ProcSample from a 'sample' record; TypedError when a field does not fit."""
    return typed.build(ProcSample, data, "sample")


# --- writing -------------------------------------------------------------------------------------


def _is_recording_header(line: str | bytes) -> bool:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get(HEADER_KEY) == FORMAT_VERSION


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default)
"""Built once: json.dumps(record, separators=..., default=...) would build a new encoder per record."""
_HEADER_MAX = 1 << 16
"""Bytes of a file's first line read to decide whether it is a recording."""


def _ensure_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RecordingError(f"cannot create the folder {directory}: a file is in the way") from None
    except NotADirectoryError:
        raise RecordingError(f"cannot create the folder {directory}: part of its path is a file") from None
    except OSError as exc:
        raise RecordingError(f"cannot create the folder {directory}: {reason(exc)}") from None


class Recorder:
    """Appends a gildash recording (JSONL). Write errors never raise: `error` says why recording stopped.

    Every write call is one os.write of whole records (no buffer in between): `lines` writes a batch (one
    read's worth of stdout) at once, so a kill -9 of gildash loses at most the batch being written, and
    what the Recorder counts as written is what reached the file. A file that ends mid-line (an earlier
    full disk) gets a newline before the first record, so the new records never glue onto the cut one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.error: str | None = None
        """The first write error, when the disk refused (recording stops, the run goes on)."""
        self.runs_recorded = 0
        """Runs whose result record reached the file."""
        self.repaired = False
        """The file ended mid-line and a newline was written before the first record."""
        try:
            exists = check_regular(self.path) and self.path.stat().st_size > 0
        except NotADirectoryError:
            exists = False  # a file where a folder belongs: _ensure_dir says which
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {reason(exc)}") from None
        ends_mid_line = False
        if exists:
            try:
                fd = open_regular(self.path, os.O_RDONLY)
                with os.fdopen(fd, "rb") as fh:
                    first = fh.readline(_HEADER_MAX)
                    fh.seek(-1, os.SEEK_END)
                    ends_mid_line = fh.read(1) != b"\n"
            except OSError as exc:
                raise RecordingError(f"cannot read {self.path}: {reason(exc)}") from None
            if not _is_recording_header(first):
                raise RecordingError(
                    f"{self.path} exists and is not a gildash recording; refusing to overwrite it"
                )
        _ensure_dir(self.path.parent)
        try:
            self._fd: int | None = open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {reason(exc)}") from None
        lock_shared(self._fd)  # in use: the recordings folder's size cap never prunes it
        if ends_mid_line:
            self.repaired = self._write_bytes(b"\n")
        if not exists:
            self._write({HEADER_KEY: FORMAT_VERSION, "created": time.time()})

    def _write_bytes(self, data: bytes) -> bool:
        """Write all of data (looping over short writes); False, and recording stopped, on any error."""
        fd = self._fd
        if fd is None:
            return False
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            self.error = f"recording to {self.path} stopped: {reason(exc)}"
            self.close()
            return False
        return True

    def _write(self, record: Mapping[str, Any]) -> bool:
        try:
            text = safejson.dumps(record) + "\n"  # strict and recursion-proof, whatever the record holds
        except Exception as exc:  # never raise into a run; the record is lost, and said so
            self.error = self.error or f"recording to {self.path}: a record could not be encoded ({exc})"
            return False
        return self._write_bytes(text.encode("utf-8", errors="replace"))

    def run_start(
        self, run_id: str, spec: RunSpec, argv: tuple[str, ...], pid: int, noisy: bool, started_at: float
    ) -> None:
        """Record that a run was spawned (pid 0 when it could not be) at Unix time started_at.

        Every other record's `t` is seconds since the run's spawn; this one says `started_at` so no field
        name means two clocks (recordings written before say `t`, and still read)."""
        self._write(
            {
                "kind": "run_start",
                "run_id": run_id,
                "spec": spec,
                "target": spec.target,
                "argv": list(argv),
                "pid": pid,
                "noisy": noisy,
                "started_at": started_at,
            }
        )

    def lines(self, run_id: str, lines: Iterable[tuple[float, str, bool]]) -> None:
        """Record stdout lines, each (harness time t, raw line, truncated), with one write call."""
        if self._fd is None:
            return
        encode = _ENCODER.encode  # the fast path: these records hold only str, finite floats and bools
        try:
            # A flood's line costs one C call for its text: the rest of the record is what the encoder would
            # write around it (keys in order, compact separators, float repr), built once per call.
            head = '{"kind":"line","run_id":' + encode(run_id) + ',"t":'
            text = "".join(
                [
                    encode({"kind": "line", "run_id": run_id, "t": t, "raw": raw, "truncated": True}) + "\n"
                    if truncated
                    else head + float.__repr__(t) + ',"raw":' + encode(raw) + "}\n"
                    if type(t) is float and math.isfinite(t)
                    else encode({"kind": "line", "run_id": run_id, "t": t, "raw": raw}) + "\n"
                    for t, raw, truncated in lines
                ]
            )
        except Exception as exc:
            self.error = self.error or f"recording to {self.path}: lines could not be encoded ({exc})"
            return
        self._write_bytes(text.encode("utf-8", errors="replace"))

    def stderr(self, run_id: str, t: float, line: str) -> None:
        """Record one stderr line."""
        self._write({"kind": "stderr", "run_id": run_id, "t": t, "line": line})

    def sample(self, run_id: str, sample: ProcSample) -> None:
        """Record a process-tree sample."""
        self._write({"kind": "sample", "run_id": run_id, **to_json(sample)})

    def cores(self, run_id: str, t: float, sample: CoreSample) -> None:
        """Record a machine per-core sample at harness time t."""
        self._write({"kind": "cores", "run_id": run_id, "t": t, "percent": list(sample.percent)})

    def result(self, run_id: str, result: RunResult) -> None:
        """Record the final result of a run."""
        if self._write({"kind": "result", "run_id": run_id, "result": result}):
            self.runs_recorded += 1

    def close(self) -> None:
        """Close the file (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- reading -------------------------------------------------------------------------------------

MAX_RECORD = 8 << 20
"""Longest record line read (a 1 MiB workload line, JSON-escaped, fits); longer ones are skipped unread."""
_CHUNK = 1 << 20
_RUN_ID_KEY = b'"run_id":"'
_RUN_ID_RE = re.compile(rb'"run_id"\s*:\s*"([^"\\\n]{1,200})"')
_META_RE = re.compile(rb'"kind"\s*:\s*"(?:run_start|result)"')
_META_KINDS = ("run_start", "result")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
"""Refuses NaN/Infinity tokens; built once (json.loads with arguments builds a decoder per call)."""


def _blocks(fh: BinaryIO, start: int, end: int | None) -> Iterator[tuple[int, bytes | None]]:
    """(file offset, whole lines) of [start, end) read in chunks; (offset, None) for a line longer than
    MAX_RECORD, skipped without buffering it. A last line without a newline comes as its own block."""
    fh.seek(start)
    pos = start  # file offset of the first byte not yet handed on
    carry = b""
    discarding = False  # inside an over-long line: drop bytes up to its newline
    while True:
        want = _CHUNK if end is None else min(_CHUNK, end - pos - len(carry))
        chunk = fh.read(want) if want > 0 else b""
        if not chunk:
            break
        if discarding:
            newline = chunk.find(b"\n")
            if newline < 0:
                pos += len(chunk)
                continue
            yield pos, None
            pos += newline + 1
            chunk = chunk[newline + 1 :]
            discarding = False
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n")
        if cut >= 0:
            yield pos, data[: cut + 1]
            pos += cut + 1
            carry = data[cut + 1 :]
        else:
            carry = data
        if len(carry) > MAX_RECORD:
            pos += len(carry)
            carry = b""
            discarding = True
    if discarding:
        yield pos, None
    elif carry:
        yield pos, carry


def _decode(line: bytes) -> dict[str, Any] | None:
    """The JSON object of a record line; None when it is not one (garbled, NaN, nested too deep)."""
    try:
        obj = _DECODER.decode(line.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _time(obj: Mapping[str, Any]) -> float:
    t = typed.coerce(obj.get("t"), float, "t")
    if t < 0:
        raise typed.TypedError("t: negative")
    return float(t)


def _item(kind: str, obj: Mapping[str, Any]) -> tuple[float, RunUpdate]:
    """The (t, update) of a line, stderr, sample or cores record; ValueError when any value does not fit."""
    t = _time(obj)
    if kind == "line":
        raw = obj.get("raw")
        if not isinstance(raw, str):
            raise typed.TypedError("raw: expected a string")
        event = parse_line(raw, truncated=obj.get("truncated") is True)
        return t, EventReceived(t, event, raw)
    if kind == "stderr":
        line = obj.get("line")
        if not isinstance(line, str):
            raise typed.TypedError("line: expected a string")
        return t, StderrReceived(t, line)
    if kind == "sample":
        return t, sample_from_json(obj)
    if kind == "cores":
        percent = typed.coerce(obj.get("percent"), tuple[float, ...], "percent")
        return t, CoreSample(t=t, percent=percent)
    raise typed.TypedError(f"unknown record kind {kind!r}")


def _check_item(kind: str, obj: Mapping[str, Any]) -> None:
    """_item's checks without building the update (a line's raw text is parsed only when replayed)."""
    if kind == "line":
        _time(obj)
        if not isinstance(obj.get("raw"), str):
            raise typed.TypedError("raw: expected a string")
    else:
        _item(kind, obj)


@dataclass(frozen=True)
class _Start:
    """What a run_start record says."""

    spec: RunSpec
    argv: tuple[str, ...]
    pid: int
    noisy: bool
    started_at: float


def _start_from_json(obj: Mapping[str, Any]) -> _Start:
    return _Start(
        spec=spec_from_json(obj.get("spec")),
        argv=typed.coerce(obj.get("argv", []), tuple[str, ...], "argv"),
        pid=typed.coerce(obj.get("pid", 0), int, "pid"),
        noisy=typed.coerce(obj.get("noisy", False), bool, "noisy"),
        started_at=_started_at(obj),
    )


def _started_at(obj: Mapping[str, Any]) -> float:
    """A run_start's Unix time: `started_at`, or `t` in recordings written before it had its own name."""
    if "started_at" in obj:
        value = typed.coerce(obj.get("started_at"), float, "started_at")
        if not 0 <= value < math.inf:
            raise typed.TypedError("started_at: not a time")
        return float(value)
    return _time(obj)


class _RunSource:
    """Where one run's records lie in the file (byte ranges), read again on demand, never kept."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.bounds = array("q")  # start, end, start, end ...: compact even for a badly interleaved file
        self.start: _Start | None = None
        self.result: RunResult | None = None
        self.result_error: str | None = None
        self.skipped = 0
        """Lines of its ranges found unusable while reading them (counted once)."""
        self._read_once = False
        self._scan: _Scan | None = None
        self._rebuilt: RunResult | None = None

    def add(self, start: int, end: int) -> None:
        bounds = self.bounds
        if bounds and bounds[-1] == start:
            bounds[-1] = end
        else:
            bounds.extend((start, end))

    def items(self) -> Iterator[tuple[float, RunUpdate]]:
        """(t, update) of every line/stderr/sample/cores record, in file order, read from disk now."""
        skipped = 0
        try:
            fd = open_regular(self.path, os.O_RDONLY)
        except OSError as exc:
            raise RecordingError(f"cannot read {self.path}: {reason(exc)}") from None
        with os.fdopen(fd, "rb") as fh:
            bounds = self.bounds
            for i in range(0, len(bounds), 2):
                for _offset, block in _blocks(fh, bounds[i], bounds[i + 1]):
                    if block is None:
                        skipped += 1
                        continue
                    for line in block.split(b"\n"):
                        if not line.strip():
                            continue
                        obj = _decode(line)
                        kind = obj.get("kind") if obj is not None else None
                        if obj is None or obj.get("run_id") != self.run_id or not isinstance(kind, str):
                            skipped += 1
                            continue
                        if kind in _META_KINDS:
                            continue  # read by the index already
                        try:
                            item = _item(kind, obj)
                        except (ValueError, TypeError, KeyError):
                            skipped += 1
                            continue
                        yield item
        if not self._read_once:  # reached only when read to the end: count each unusable line once
            self._read_once = True
            self.skipped = skipped

    def scan(self) -> _Scan:
        """What one pass over the run's updates folds into (read once, then kept: small)."""
        if self._scan is None:
            self._scan = _Scan.of(self.items())
        return self._scan

    def rebuilt(self, spec: RunSpec) -> RunResult:
        """A result rebuilt from the run's lines (its result record is missing or unreadable)."""
        if self._rebuilt is None:
            self._rebuilt = _reconstruct(self, spec)
        return self._rebuilt


@dataclass
class _Scan:
    """One run's updates folded: the protocol tally, the stderr tail, mean sampled cores, the last time."""

    tally: EventTally = field(default_factory=EventTally)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=50))
    gil_module: str | None = None
    cores_sum: float = 0.0
    cores_n: int = 0
    last_t: float = 0.0
    count: int = 0

    @classmethod
    def of(cls, updates: Iterator[tuple[float, RunUpdate]]) -> _Scan:
        scan = cls()
        while True:
            try:
                t, update = next(updates)
            except StopIteration:
                break
            except (RecordingError, OSError):  # the file went away: what could be read
                break
            scan.count += 1
            scan.last_t = max(scan.last_t, t)
            if isinstance(update, EventReceived):
                scan.tally.add(update.event)
            elif isinstance(update, StderrReceived):
                scan.gil_module = scan.gil_module or gil_reenabled_module(update.line)
                scan.stderr_tail.append(update.line)
            elif isinstance(update, ProcSample):
                scan.cores_sum += update.effective_cores
                scan.cores_n += 1
        return scan


def _reconstruct(source: _RunSource, spec: RunSpec) -> RunResult:
    scan = source.scan()
    tally = scan.tally
    summary = tally.summary
    status: RunStatus
    if summary is not None:
        status = "ok" if summary.ok and not summary.aborted else "failed"
    elif tally.error is not None:
        status = "crashed"
    else:
        status = "error"
    message = f"incomplete recording: the run has no result record (rebuilt from {scan.count} records)"
    if tally.error is not None:
        first = tally.error.message.strip().splitlines()
        message += f"; error: {first[0] if first else 'unknown'}"
    start = source.start
    return tally.result(
        spec,
        run_id=source.run_id,
        status=status,
        message=message,
        harness_wall_s=scan.last_t,
        noisy=start.noisy if start else False,
        gil_module=scan.gil_module,
        stderr_tail="\n".join(scan.stderr_tail)[-8192:],
        started_at=start.started_at if start else 0.0,
        sampled_cores=scan.cores_sum / scan.cores_n if scan.cores_n else None,
        complete=False,
    )


class RecordedItems:
    """A run's (t, update) pairs, read from the file each time they are iterated (bounded memory)."""

    def __init__(self, source: _RunSource) -> None:
        self._source = source

    def __iter__(self) -> Iterator[tuple[float, RunUpdate]]:
        return self._source.items()

    def __len__(self) -> int:
        return sum(1 for _ in self._source.items())


@dataclass(frozen=True)
class RecordedRun:
    """One run as read back from a recording; its updates are read from the file when iterated."""

    started: RunStarted
    """Its start as replayed: spec rebuilt from the result, no argv and pid 0 when the run_start record is
    missing."""
    started_at: float
    """Unix time the run started (0 when unknown)."""
    source: _RunSource = field(repr=False, compare=False)
    """Where its records lie in the file."""

    @property
    def run_id(self) -> str:
        """Run id."""
        return self.started.run_id

    @property
    def spec(self) -> RunSpec:
        """What ran."""
        return self.started.spec

    @property
    def items(self) -> RecordedItems:
        """(harness seconds, update) for every recorded line, stderr line and sample, in file order."""
        return RecordedItems(self.source)

    @property
    def result(self) -> RunResult:
        """The recorded result, or one rebuilt from the lines (result.complete is then False)."""
        return self.source.result or self.source.rebuilt(self.spec)

    @property
    def timeline(self) -> Timeline:
        """The workers' slices from the recorded `slices` lines (empty: protocol v1, custom commands)."""
        return self.source.scan().tally.timeline.snapshot()

    @property
    def complete(self) -> bool:
        """The recording holds the run's own result record."""
        return self.source.result is not None


class Recording:
    """One recording file: its runs (indexed, read on demand), unusable lines, notes."""

    def __init__(
        self, path: Path, runs: tuple[RecordedRun, ...], skipped: int, errors: tuple[str, ...]
    ) -> None:
        self.path = path
        """The file read."""
        self.runs = runs
        """Runs in order of first appearance."""
        self.errors = errors
        """One-line notes about runs that could not be rebuilt."""
        self._skipped = skipped

    @property
    def skipped(self) -> int:
        """Lines that could not be used (garbled, cut, wrongly typed, non-finite, too long, unknown).

        Exact after read_recording; after open_recording, what the index and the runs read so far found.
        """
        return self._skipped + sum(run.source.skipped for run in self.runs)


def _all_records_of(data: bytes, run_id: str) -> bool:
    """Every line of the block is a valid line/stderr/sample/cores record of run_id (checked as _item
    would); False at the first doubt, and the block is then read line by line.

    The block is parsed in one decode, as a JSON array of its lines: a line-by-line loop spends most of
    its time in Python, not in the decoder.
    """
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    lines = text.count("\n") + 1
    # Each line one whole object: starts with '{', ends with '}', and as many objects as lines.
    if not text.startswith("{") or not text.endswith("}"):
        return False
    if text.count("\n{") != lines - 1 or text.count("}\n") != lines - 1:
        return False
    try:
        objs = _DECODER.decode("[" + text.replace("\n", ",") + "]")
    except (ValueError, RecursionError):
        return False
    if len(objs) != lines:
        return False
    for obj in objs:
        if type(obj) is not dict or obj.get("run_id") != run_id:
            return False
        kind = obj.get("kind")
        if kind == "line":
            t = obj.get("t")
            # type() is exact: a bool is not a time; NaN fails the comparison, inf the bound.
            if (type(t) is not float and type(t) is not int) or not 0 <= t < math.inf:
                return False
            if type(obj.get("raw")) is not str:
                return False
        elif kind in _META_KINDS or not isinstance(kind, str):
            return False
        else:
            try:
                _check_item(kind, obj)
            except (ValueError, TypeError, KeyError):
                return False
    return True


class _Indexer:
    """One pass over a recording: which byte ranges hold which run, and every run's start and result."""

    def __init__(self, path: Path, validate: bool) -> None:
        self.path = path
        self.validate = validate
        self.sources: dict[str, _RunSource] = {}
        self.skipped = 0
        self.current: _RunSource | None = None
        self.needle = b""

    def _source(self, run_id: str) -> _RunSource:
        source = self.sources.get(run_id)
        if source is None:
            source = self.sources[run_id] = _RunSource(self.path, run_id)
        if source is not self.current:
            self.current = source
            self.needle = _RUN_ID_KEY + run_id.encode() + b'"'
        return source

    def block(self, offset: int, data: bytes | None) -> None:
        if data is None:
            self.skipped += 1  # an over-long line: left out of every range
            return
        current = self.current
        if self.validate and current is not None and not _META_RE.search(data):
            if _all_records_of(data, current.run_id):
                current.add(offset, offset + len(data))
                return
        if not self.validate and current is not None:
            lines = data.count(b"\n") + (not data.endswith(b"\n"))
            if (
                data.count(self.needle) == lines
                and data.count(_RUN_ID_KEY) == lines
                and not _META_RE.search(data)
            ):
                # The fast path: each line of the block names the current run once, none starts or ends
                # a run: the whole block is the current run's, no line looked at one by one.
                current.add(offset, offset + len(data))
                return
        pos = offset
        for line in data.split(b"\n"):
            end = pos + len(line) + 1
            self.line(pos, min(end, offset + len(data)), line)
            pos = end

    def line(self, start: int, end: int, line: bytes) -> None:
        if not line.strip():
            return
        if self.validate or _META_RE.search(line):
            self._parsed(start, end, line)
            return
        match = _RUN_ID_RE.search(line)
        if match is None:
            if self.current is not None:
                self.current.add(start, end)  # counted when the run is read
            else:
                self.skipped += 1
            return
        self._source(match.group(1).decode("utf-8", errors="replace")).add(start, end)

    def _parsed(self, start: int, end: int, line: bytes) -> None:
        obj = _decode(line)
        kind = obj.get("kind") if obj is not None else None
        run_id = obj.get("run_id") if obj is not None else None
        if obj is None or not isinstance(kind, str) or not isinstance(run_id, str):
            self.skipped += 1
            return
        source = self._source(run_id)
        try:
            if kind == "run_start":
                source.start = _start_from_json(obj)
            elif kind == "result":
                try:
                    source.result = result_from_json(obj.get("result"))
                except (ValueError, TypeError) as exc:
                    source.result_error = f"run {run_id}: unreadable result ({exc}); rebuilt from its lines"
                    raise
            else:
                _check_item(kind, obj)
        except (ValueError, TypeError, KeyError):
            self.skipped += 1
            return
        source.add(start, end)

    def recording(self) -> Recording:
        errors: list[str] = []
        runs: list[RecordedRun] = []
        for source in self.sources.values():
            if source.result_error:
                errors.append(source.result_error)
            start, result = source.start, source.result
            if start is None and result is None:
                errors.append(f"run {source.run_id}: neither its start nor its result was recorded; skipped")
                source.skipped = 0  # its lines are not read: not counted as a run's either
                self.skipped += _count_lines(source)
                continue
            if start is not None:
                spec = start.spec
            else:
                assert result is not None
                spec = RunSpec(
                    target=result.target,
                    workload=result.workload,
                    threads=result.threads,
                    size=result.size,
                    executor=result.executor,
                )
            runs.append(
                RecordedRun(
                    RunStarted(
                        source.run_id,
                        spec,
                        start.pid if start else 0,
                        start.argv if start else (),
                        start.noisy if start else False,
                    ),
                    started_at=start.started_at if start else 0.0,
                    source=source,
                )
            )
        return Recording(self.path, tuple(runs), self.skipped, tuple(errors))


def _count_lines(source: _RunSource) -> int:
    bounds = source.bounds
    if not bounds:
        return 0
    return sum(1 for _ in source.items()) + source.skipped


def _load(path: Path, *, validate: bool) -> Recording:
    path = Path(path)
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        raise RecordingError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {reason(exc)}") from None
    indexer = _Indexer(path, validate)
    try:
        with os.fdopen(fd, "rb") as fh:
            first = fh.readline(_HEADER_MAX)
            while first and not first.strip():
                first = fh.readline(_HEADER_MAX)
            if not first or not _is_recording_header(first):
                raise RecordingError(f"{path} is not a gildash recording")
            for offset, block in _blocks(fh, fh.tell(), None):
                indexer.block(offset, block)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {reason(exc)}") from None
    return indexer.recording()


def read_recording(path: Path) -> Recording:
    """Read a whole recording once, checking every record (exact `skipped`); runs' updates are read again
    only when iterated. Bounded memory whatever the file size; RecordingError if it is not a recording."""
    return _load(path, validate=True)


def open_recording(path: Path) -> Recording:
    """Index a recording quickly (which byte ranges hold which run; starts and results parsed), for replay:
    the runs' updates are read and checked when iterated. Bounded memory; RecordingError as read_recording."""
    return _load(path, validate=False)


FULL_CHECK_BYTES = 32 * 1024 * 1024
"""Recordings up to this size are checked whole before a replay (every unreadable line counted at once);
bigger ones are indexed (open_recording) so the first frame comes in time, and checked as they play."""


def load_for_replay(path: Path) -> Recording:
    """read_recording for a recording up to FULL_CHECK_BYTES, open_recording (the fast index) above."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # let the reader name the problem
    return read_recording(path) if size <= FULL_CHECK_BYTES else open_recording(path)


# --- replay --------------------------------------------------------------------------------------


class ReplayRun:
    """Re-emits a RecordedRun's updates with the same interface as runner.Run, paced by recorded time.

    speed 1 is real time, 2 twice as fast, 0 no pacing. Gaps longer than max_gap_s are shortened.
    """

    def __init__(self, recorded: RecordedRun, *, speed: float = 1.0, max_gap_s: float = 5.0) -> None:
        self.recorded = recorded
        self.run_id = recorded.run_id
        self.spec = recorded.spec
        self.result: RunResult | None = None
        """The recorded result once RunFinished has been produced."""
        self._speed = max(0.0, speed)
        self._max_gap = max_gap_s
        self._paused = False
        self._stopped = False

    def stop(self) -> None:
        """Skip to the end: RunFinished with the recorded result comes next. Idempotent."""
        self._stopped = True

    def pause(self, paused: bool) -> None:
        """Hold (True) or resume (False) the replay clock."""
        self._paused = paused

    async def _wait(self, delay: float) -> None:
        remaining = delay
        while not self._stopped:
            if self._paused:
                await asyncio.sleep(0.05)
                continue
            if remaining <= 0:
                return
            step = min(remaining, 0.05)
            await asyncio.sleep(step)
            remaining -= step

    async def updates(self) -> AsyncIterator[RunUpdate]:
        """RunStarted, the recorded updates in order, then RunFinished (always)."""
        rec = self.recorded
        yield rec.started
        last_t = 0.0
        items = iter(rec.items)
        while not self._stopped:
            try:
                t, update = next(items)
            except StopIteration:
                break
            except (
                RecordingError,
                OSError,
            ):  # the file went away mid-replay: end it, RunFinished still comes
                break
            gap = min(max(t - last_t, 0.0), self._max_gap) if math.isfinite(t - last_t) else 0.0
            await self._wait(gap / self._speed if self._speed > 0 else 0.0)
            if self._stopped:
                break
            last_t = max(last_t, t)
            if isinstance(update, CoreSample):
                # Live CoreSample.t is the monotonic clock; keep that meaning for consumers.
                update = CoreSample(t=time.monotonic(), percent=update.percent)
            yield update
        self.result = rec.result
        yield RunFinished(rec.result)
