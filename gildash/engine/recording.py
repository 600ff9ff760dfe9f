"""Append-only JSONL recordings of runs, their tolerant reader, and a replay source.

Owns: the recording file format (header line, then one record per line: run_start, line, stderr, sample,
cores, result), (de)serialisation of the shared dataclasses, and `ReplayRun`, which re-emits a recorded
run through the same interface as a live `Run`. Never overwrites a file that is not a gildash recording;
never imports textual.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from gildash.engine.machine import machine_from_dict
from gildash.engine.model import (
    CoreSample,
    CoreSampleTaken,
    EventReceived,
    ProcSample,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunStatus,
    RunUpdate,
    SampleTaken,
    StderrReceived,
    Target,
)
from gildash.engine.protocol import EventTally, gil_reenabled_module, parse_line

HEADER_KEY = "gildash_recording"
FORMAT_VERSION = 1

T = TypeVar("T")


class RecordingError(Exception):
    """A recording that cannot be opened, read, or safely appended to (one-line message)."""


# --- serialisation -------------------------------------------------------------------------------


def to_json(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a model dataclass (tuples become lists when dumped)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"not a dataclass instance: {type(obj).__name__}")
    return dataclasses.asdict(obj)


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _build(cls: type[T], data: Mapping[str, Any], converters: Mapping[str, Callable[[Any], Any]]) -> T:
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected an object")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: (converters[k](v) if k in converters else v) for k, v in data.items() if k in names}
    return cls(**kwargs)


def _env(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in value)


def target_from_json(data: Mapping[str, Any]) -> Target:
    """Inverse of to_json for a Target (unknown keys ignored)."""
    return _build(Target, data, {"env": _env})


def spec_from_json(data: Mapping[str, Any]) -> RunSpec:
    """Inverse of to_json for a RunSpec."""
    return _build(
        RunSpec,
        data,
        {
            "target": target_from_json,
            "cmd": lambda v: None if v is None else tuple(str(a) for a in v),
            "extra_args": lambda v: tuple(str(a) for a in v),
        },
    )


def result_from_json(data: Mapping[str, Any]) -> RunResult:
    """Inverse of to_json for a RunResult."""
    return _build(
        RunResult,
        data,
        {
            "target": target_from_json,
            "worker_durations": lambda v: tuple(float(x) for x in v),
            "metrics": lambda v: dict(v) if isinstance(v, Mapping) else {},
            "machine": machine_from_dict,
        },
    )


def sample_from_json(data: Mapping[str, Any]) -> ProcSample:
    """A ProcSample from a 'sample' record."""
    return _build(
        ProcSample,
        data,
        {
            "thread_util": lambda v: tuple(float(x) for x in v),
            "thread_ids": lambda v: tuple(int(x) for x in v),
        },
    )


# --- writing -------------------------------------------------------------------------------------


def _is_recording_header(line: str) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get(HEADER_KEY) == FORMAT_VERSION


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default)
"""Built once: json.dumps(record, separators=..., default=...) would build a new encoder per record."""


class Recorder:
    """Appends a gildash recording (JSONL; every write call is flushed). Write errors never raise.

    `line` writes and flushes one record; `lines` writes a batch (one read's worth of stdout) with one
    write and one flush, so a kill -9 of gildash loses at most the lines of the batch being written.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.error: str | None = None
        """The first write error, when the disk refused (recording stops, the run goes on)."""
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists:
            try:
                with self.path.open("r", encoding="utf-8", errors="replace") as fh:
                    first = fh.readline(1 << 16)
            except OSError as exc:
                raise RecordingError(f"cannot read {self.path}: {exc.strerror}") from None
            if not _is_recording_header(first):
                raise RecordingError(
                    f"{self.path} exists and is not a gildash recording; refusing to overwrite it"
                )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # buffering=1: line-buffered, each write call is flushed, so a crash loses at most that batch.
            self._fh: IO[str] | None = self.path.open("a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror}") from None
        if not exists:
            self._write({HEADER_KEY: FORMAT_VERSION, "created": time.time()})

    def _write(self, record: Mapping[str, Any]) -> None:
        self._write_many((record,))

    def _write_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        if self._fh is None:
            return
        try:
            encode = _ENCODER.encode
            # One write call: the line-buffered file flushes it once, whole records only.
            self._fh.write("".join([encode(record) + "\n" for record in records]))
        except (OSError, ValueError) as exc:
            self.error = f"recording to {self.path} stopped: {exc}"
            self.close()

    def run_start(
        self, run_id: str, spec: RunSpec, argv: tuple[str, ...], pid: int, noisy: bool, t: float
    ) -> None:
        """Record that a run was spawned (pid 0 when it could not be)."""
        self._write(
            {
                "kind": "run_start",
                "run_id": run_id,
                "spec": to_json(spec),
                "target": to_json(spec.target),
                "argv": list(argv),
                "pid": pid,
                "noisy": noisy,
                "t": t,
            }
        )

    def lines(self, run_id: str, lines: Iterable[tuple[float, str, bool]]) -> None:
        """Record stdout lines, each (harness time t, raw line, truncated), with one write and one flush."""
        self._write_many(
            [
                {"kind": "line", "run_id": run_id, "t": t, "raw": raw, "truncated": True}
                if truncated
                else {"kind": "line", "run_id": run_id, "t": t, "raw": raw}
                for t, raw, truncated in lines
            ]
        )

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
        self._write({"kind": "result", "run_id": run_id, "result": to_json(result)})

    def close(self) -> None:
        """Close the file (idempotent)."""
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRun:
    """One run as read back from a recording."""

    run_id: str
    """Run id."""
    spec: RunSpec
    """What ran (rebuilt from the result when the run_start record is missing)."""
    argv: tuple[str, ...]
    """Exact argv executed."""
    pid: int
    """Process id it had (0 when unknown or never spawned)."""
    noisy: bool
    """Pre-run load check result."""
    started_at: float
    """Unix time the run started (0 when unknown)."""
    items: tuple[tuple[float, RunUpdate], ...]
    """(harness seconds, update) for every recorded line, stderr line and sample, in file order."""
    result: RunResult
    """The recorded result, or one reconstructed from the lines (result.complete is then False)."""

    @property
    def complete(self) -> bool:
        """The recording holds the run's own result record."""
        return self.result.complete


@dataclass(frozen=True)
class Recording:
    """Everything read from one recording file."""

    runs: tuple[RecordedRun, ...]
    """Runs in order of first appearance."""
    skipped: int
    """Lines that could not be used (truncated, garbled, unknown)."""
    errors: tuple[str, ...]
    """One-line notes about runs that could not be rebuilt."""


class _RunBuilder:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.spec: RunSpec | None = None
        self.argv: tuple[str, ...] = ()
        self.pid = 0
        self.noisy = False
        self.started_at = 0.0
        self.items: list[tuple[float, RunUpdate]] = []
        self.result: RunResult | None = None
        self.result_error: str | None = None
        self.tally = EventTally()
        self.stderr_tail: list[str] = []
        self.gil_module: str | None = None
        self.samples: list[float] = []
        self.last_t = 0.0

    def add(self, kind: str, obj: Mapping[str, Any]) -> None:
        """Fold one record in; raises (KeyError/ValueError/TypeError) on a malformed record."""
        if kind == "run_start":
            self.spec = spec_from_json(obj["spec"])
            self.argv = tuple(str(a) for a in obj.get("argv", ()))
            self.pid = int(obj.get("pid", 0))
            self.noisy = bool(obj.get("noisy", False))
            self.started_at = float(obj.get("t", 0.0))
            return
        if kind == "result":
            try:
                self.result = result_from_json(obj["result"])
            except (KeyError, TypeError, ValueError) as exc:
                self.result_error = f"run {self.run_id}: unreadable result ({exc}); rebuilt from its lines"
            return
        t = float(obj["t"])
        self.last_t = max(self.last_t, t)
        if kind == "line":
            raw = obj["raw"]
            if not isinstance(raw, str):
                raise TypeError("raw is not a string")
            event = parse_line(raw, truncated=bool(obj.get("truncated", False)))
            self.tally.add(event)
            self.items.append((t, EventReceived(t, event, raw)))
        elif kind == "stderr":
            line = str(obj["line"])
            self.gil_module = self.gil_module or gil_reenabled_module(line)
            self.stderr_tail = [*self.stderr_tail[-49:], line]
            self.items.append((t, StderrReceived(t, line)))
        elif kind == "sample":
            sample = sample_from_json(obj)
            self.samples.append(sample.effective_cores)
            self.items.append((t, SampleTaken(sample)))
        elif kind == "cores":
            percent = tuple(float(x) for x in obj["percent"])
            self.items.append((t, CoreSampleTaken(CoreSample(t=t, percent=percent))))
        else:
            raise ValueError(f"unknown record kind {kind!r}")

    def build(self, errors: list[str]) -> RecordedRun | None:
        if self.result_error:
            errors.append(self.result_error)
        result = self.result
        spec = self.spec
        if spec is None and result is None:
            errors.append(f"run {self.run_id}: neither its start nor its result was recorded; skipped")
            return None
        if spec is None:
            assert result is not None
            spec = RunSpec(
                target=result.target,
                workload=result.workload,
                threads=result.threads,
                size=result.size,
                executor=result.executor,
            )
        if result is None:
            result = self._reconstruct(spec)
        return RecordedRun(
            run_id=self.run_id,
            spec=spec,
            argv=self.argv,
            pid=self.pid,
            noisy=self.noisy,
            started_at=self.started_at,
            items=tuple(self.items),
            result=result,
        )

    def _reconstruct(self, spec: RunSpec) -> RunResult:
        tally = self.tally
        summary = tally.summary
        status: RunStatus
        if summary is not None:
            status = "ok" if summary.ok and not summary.aborted else "failed"
        elif tally.error is not None:
            status = "crashed"
        else:
            status = "error"
        message = (
            f"incomplete recording: the run has no result record (rebuilt from {len(self.items)} records)"
        )
        if tally.error is not None:
            first = tally.error.message.strip().splitlines()
            message += f"; error: {first[0] if first else 'unknown'}"
        return tally.result(
            spec,
            run_id=self.run_id,
            status=status,
            message=message,
            harness_wall_s=self.last_t,
            noisy=self.noisy,
            gil_module=self.gil_module,
            stderr_tail="\n".join(self.stderr_tail)[-8192:],
            started_at=self.started_at,
            sampled_cores=sum(self.samples) / len(self.samples) if self.samples else None,
            complete=False,
        )


def read_recording(path: Path) -> Recording:
    """Read a recording, skipping (and counting) lines it cannot use; RecordingError if not a recording."""
    try:
        with Path(path).open("r", encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not _is_recording_header(lines[first]):
        raise RecordingError(f"{path} is not a gildash recording")
    builders: dict[str, _RunBuilder] = {}
    skipped = 0
    for line in lines[first + 1 :]:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            skipped += 1
            continue
        if not isinstance(obj, dict):
            skipped += 1
            continue
        kind, run_id = obj.get("kind"), obj.get("run_id")
        if not isinstance(kind, str) or not isinstance(run_id, str):
            skipped += 1
            continue
        builder = builders.get(run_id)
        if builder is None:
            builder = builders[run_id] = _RunBuilder(run_id)
        try:
            builder.add(kind, obj)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            skipped += 1
    errors: list[str] = []
    runs = [run for b in builders.values() if (run := b.build(errors)) is not None]
    return Recording(runs=tuple(runs), skipped=skipped, errors=tuple(errors))


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
        yield RunStarted(rec.run_id, rec.spec, rec.pid, rec.argv, rec.noisy)
        last_t = 0.0
        for t, update in rec.items:
            if self._stopped:
                break
            gap = min(max(t - last_t, 0.0), self._max_gap)
            await self._wait(gap / self._speed if self._speed > 0 else 0.0)
            if self._stopped:
                break
            last_t = max(last_t, t)
            if isinstance(update, CoreSampleTaken):
                # Live CoreSample.t is the monotonic clock; keep that meaning for consumers.
                update = CoreSampleTaken(CoreSample(t=time.monotonic(), percent=update.sample.percent))
            yield update
        self.result = rec.result
        yield RunFinished(rec.result)
