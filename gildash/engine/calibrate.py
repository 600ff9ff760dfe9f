"""Size calibration: per target and workload, a --size whose 1-thread run lasts a few hundred ms.

A baseline that runs for 20 ms measures start-up jitter, not the work. The calibrator runs small,
extrapolates from the first run long enough to trust, and verifies the extrapolated size with one more
run; the result is cached in the gildash cache dir, keyed by the target's executable (path, version,
mtime, environment), the workload and its extra flags. The run function and the clock are injected,
so tests drive it with a fake clock; nothing here spawns a process by itself. Never imports textual.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from gildash.engine import paths
from gildash.engine.model import RunSpec, SweepPlan, Target

SizeRun = Callable[[int], Awaitable[float | None]]
"""Runs the workload once at a size with 1 thread; returns its own wall seconds, None when it failed."""

CACHE_VERSION = 1


class CalibrationError(Exception):
    """No size could be calibrated (the run failed, or no size landed in the window); one-line message."""


@dataclass(frozen=True)
class CalibrationPolicy:
    """How long a calibrated run should take and how hard to try."""

    min_s: float = 0.3
    """Shortest accepted 1-thread wall."""
    target_s: float = 0.5
    """The wall the extrapolation aims at."""
    max_s: float = 2.0
    """Longest accepted 1-thread wall (a baseline need not be slow to be meaningful)."""
    probe_min_s: float = 0.02
    """Runs shorter than this are mostly start-up noise: grow the size instead of extrapolating."""
    settle: float = 0.75
    """A run in the window but under settle x target_s, extrapolated from a run shorter than min_s, is
    refined once from itself: short probes carry start-up cost and make the extrapolation fall short."""
    growth: int = 10
    """Size factor per probe while runs are too short to extrapolate from."""
    max_runs: int = 8
    """Give up after this many runs."""
    budget_s: float = 60.0
    """Give up once calibration has taken this long (clock seconds)."""
    max_size: int = 10**13
    """Never propose a size above this."""


@dataclass(frozen=True)
class Calibration:
    """A calibrated size of one workload under one target, as cached."""

    key: str
    """Cache key: executable identity, environment, workload and extra flags (see calibration_key)."""
    target_id: str
    """Target id it was measured for (informational: the key decides)."""
    workload: str
    """Workload name."""
    size: int
    """The --size whose 1-thread run took wall_s."""
    wall_s: float
    """Wall of the verifying 1-thread run at size."""
    runs: int
    """Runs the calibration took (probes and the verifying run)."""
    measured_at: float
    """Clock time of the verifying run (Unix time with the default clock)."""

    @property
    def unit_s(self) -> float:
        """Seconds per unit of size at 1 thread."""
        return self.wall_s / self.size


def nice_size(value: float) -> int:
    """value rounded to two significant digits (13_670_000 -> 14_000_000), at least 1."""
    if not math.isfinite(value) or value < 1:
        return 1
    digits = int(math.floor(math.log10(value))) - 1
    step = int(10 ** max(digits, 0))
    return max(1, round(value / step) * step)


async def calibrate(
    run: SizeRun,
    *,
    start_size: int,
    policy: CalibrationPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[int, float, int, float]:
    """(size, wall_s, runs, finished_at) of a verified run inside [min_s, max_s]; raises CalibrationError.

    Run small, extrapolate linearly to target_s from the first run at least probe_min_s long, verify by
    running the extrapolated size; a verification outside the window (or short of settle x target_s)
    extrapolates again from itself.
    """
    policy = policy if policy is not None else CalibrationPolicy()
    t0 = clock()
    size = max(1, min(int(start_size), policy.max_size))
    tried: dict[int, float] = {}
    basis = 0.0  # wall of the run the current size was extrapolated from (0: the start size)
    for runs in range(1, policy.max_runs + 1):
        wall = await run(size)
        if wall is None or not math.isfinite(wall) or wall < 0:
            raise CalibrationError(f"the run at size {size} failed, so no size could be calibrated")
        tried[size] = wall
        in_window = policy.min_s <= wall <= policy.max_s
        settled = wall >= policy.settle * policy.target_s or basis >= policy.min_s
        if in_window and (settled or runs == policy.max_runs):
            return size, wall, runs, clock()
        if clock() - t0 > policy.budget_s:
            if in_window:
                return size, wall, runs, clock()
            break
        if wall < policy.probe_min_s:
            proposed = size * policy.growth
        else:
            proposed = nice_size(size * policy.target_s / wall)
        proposed = max(1, min(proposed, policy.max_size))
        if proposed in tried or proposed == size:
            if in_window:
                return size, wall, runs, clock()
            break
        basis = wall
        size = proposed
    shown = ", ".join(f"{s}: {w:.3g} s" for s, w in sorted(tried.items()))
    raise CalibrationError(
        f"no size ran within {policy.min_s}-{policy.max_s} s after {len(tried)} runs ({shown})"
    )


# --- cache ---------------------------------------------------------------------------------------


def calibration_key(target: Target, workload: str, extra_args: tuple[str, ...] = ()) -> str:
    """What a calibrated size depends on: the executable (path, version, mtime), its env, the workload."""
    try:
        mtime = str(Path(target.executable).stat().st_mtime_ns) if target.executable else ""
    except OSError:
        mtime = ""
    env = ",".join(f"{k}={v}" for k, v in sorted(target.env))
    return "|".join((target.executable, target.version, mtime, env, workload, " ".join(extra_args)))


def cache_path() -> Path:
    """Where calibrations are kept: <cache>/calibration.json."""
    return paths.cache_dir() / "calibration.json"


def _entry(value: Any) -> Calibration | None:
    if not isinstance(value, Mapping):
        return None
    try:
        cal = Calibration(
            key=str(value["key"]),
            target_id=str(value["target_id"]),
            workload=str(value["workload"]),
            size=int(value["size"]),
            wall_s=float(value["wall_s"]),
            runs=int(value["runs"]),
            measured_at=float(value["measured_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return cal if cal.size >= 1 and math.isfinite(cal.wall_s) and cal.wall_s > 0 else None


class CalibrationCache:
    """The calibration file: read leniently (a corrupt file is an empty cache), written atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else cache_path()

    def _load(self) -> dict[str, Calibration]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        out = {}
        for key, value in entries.items():
            cal = _entry(value)
            if cal is not None and cal.key == key:
                out[key] = cal
        return out

    def get(self, key: str) -> Calibration | None:
        """The cached calibration for key, if any."""
        return self._load().get(key)

    def put(self, cal: Calibration) -> None:
        """Store cal (re-read first: concurrent writers lose at most their own entry); raises OSError."""
        entries = self._load()
        entries[cal.key] = cal
        self._write(entries)

    def forget(self, key: str) -> None:
        """Drop one entry (a recalibration was asked for); raises OSError."""
        entries = self._load()
        if entries.pop(key, None) is not None:
            self._write(entries)

    def _write(self, entries: Mapping[str, Calibration]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        payload = {"version": CACHE_VERSION, "entries": {k: asdict(v) for k, v in sorted(entries.items())}}
        try:
            tmp.write_text(json.dumps(payload, indent=1) + "\n")
            os.replace(tmp, self.path)  # readers see the old file or the new one, never half of one
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


async def calibrated_size(
    target: Target,
    workload: str,
    run: SizeRun,
    *,
    start_size: int,
    extra_args: tuple[str, ...] = (),
    cache: CalibrationCache | None = None,
    policy: CalibrationPolicy | None = None,
    clock: Callable[[], float] = time.time,
    refresh: bool = False,
) -> tuple[Calibration, bool]:
    """(calibration, from_cache): the cached size for target x workload, else a fresh one (then cached).

    Raises CalibrationError when calibration fails; a cache that cannot be written costs only the
    caching (the calibration is still returned).
    """
    cache = cache if cache is not None else CalibrationCache()
    key = calibration_key(target, workload, extra_args)
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached, True
    size, wall, runs, at = await calibrate(run, start_size=start_size, policy=policy, clock=clock)
    cal = Calibration(
        key=key, target_id=target.id, workload=workload, size=size, wall_s=wall, runs=runs, measured_at=at
    )
    with contextlib.suppress(OSError):
        cache.put(cal)
    return cal, False


def runner_size_run(spec: RunSpec) -> SizeRun:
    """A SizeRun that runs spec at 1 thread and a given size through the engine's runner."""

    async def run(size: int) -> float | None:
        from gildash.engine.runner import execute  # the runner imports psutil; keep this module light

        result = await execute(
            replace(spec, threads=1, size=size, calibration=True),
            core_sample_interval=None,
            noise_check=False,
        )
        return result.wall_s if result.ok else None

    return run


# --- sweep plans ---------------------------------------------------------------------------------

Calibrator = Callable[[RunSpec, SizeRun], Awaitable[tuple[Calibration, bool]]]
"""Finds one target's size: (its 1-thread spec at the start size, a SizeRun of it) -> (calibration,
from_cache); raises CalibrationError. cached_calibration is the real one, tests pass fakes."""


def calibration_flags(spec: RunSpec) -> tuple[str, ...]:
    """The flags a calibrated size depends on besides the workload: the extra args, the process executor."""
    # The thread executor is the workload's default, so thread keys stay those of plain extra args.
    return spec.extra_args + (("--executor", "process") if spec.executor == "process" else ())


async def cached_calibration(spec: RunSpec, run: SizeRun) -> tuple[Calibration, bool]:
    """The real Calibrator: calibrated_size in the cache dir's cache, starting at spec.size."""
    return await calibrated_size(
        spec.target, spec.workload, run, start_size=spec.size or 1, extra_args=calibration_flags(spec)
    )


def calibration_specs(plan: SweepPlan) -> list[RunSpec]:
    """The 1-thread spec, at the plan's size, of each target of the plan that needs calibrating.

    A target with its own size in plan.sizes keeps it; a plan without a size (a workload sized by
    --duration, or its default size) has nothing to start from and calibrates nothing.
    """
    if plan.size is None:
        return []
    own = {target_id for target_id, _ in plan.sizes}
    return [
        RunSpec(
            target=t,
            workload=plan.workload,
            threads=1,
            size=plan.size,
            executor=plan.executor,
            timeout_s=plan.timeout_s,
            extra_args=plan.extra_args,
            switch_interval_s=plan.switch_interval_s,
        )
        for t in plan.targets
        if t.id not in own
    ]


@dataclass(frozen=True)
class PlanCalibration:
    """What calibrating a sweep plan gave: the plan to run and what could not be calibrated."""

    plan: SweepPlan
    """The plan with sizes filled for every target calibrated (the others run at plan.size)."""
    calibrations: tuple[tuple[Calibration, bool], ...]
    """(calibration, from_cache) of each target calibrated, in plan order."""
    fallbacks: tuple[tuple[str, str], ...]
    """(target id, why) for each target whose calibration failed: it runs at plan.size."""


async def calibrate_plan(
    plan: SweepPlan,
    calibrator: Calibrator,
    size_run: Callable[[RunSpec], SizeRun],
    *,
    on_target: Callable[[RunSpec, int, int], None] | None = None,
) -> PlanCalibration:
    """Calibrate every target of plan without its own size, one after the other.

    size_run makes the SizeRun of a 1-thread spec (the CLI: runner_size_run; the dashboard: its session's
    own runs); on_target(spec, i, n) is told before the i-th of n targets calibrates. A failed
    calibration costs only that target's calibrated size: it falls back to plan.size, with the reason.
    Cancelling the caller cancels the calibration (and the run in flight) too.
    """
    specs = calibration_specs(plan)
    sizes = dict(plan.sizes)
    done: list[tuple[Calibration, bool]] = []
    fallbacks: list[tuple[str, str]] = []
    for i, spec in enumerate(specs, start=1):
        if on_target is not None:
            on_target(spec, i, len(specs))
        try:
            cal, cached = await calibrator(spec, size_run(spec))
        except CalibrationError as exc:
            fallbacks.append((spec.target.id, str(exc)))
            continue
        sizes[spec.target.id] = cal.size
        done.append((cal, cached))
    ordered = tuple((t.id, sizes[t.id]) for t in plan.targets if t.id in sizes)
    return PlanCalibration(replace(plan, sizes=ordered), tuple(done), tuple(fallbacks))
