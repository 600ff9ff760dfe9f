"""Runs that must end within their stop budget whatever the workload leaves behind (engine level, plus the
CLI as a subprocess where the symptom was seen there)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import pytest
from reliability_support import (
    STOP_BUDGET_S,
    Observed,
    cli_env,
    describe,
    drive,
    gildash,
    hostile_cmd,
    hostile_spec,
    kill_leftovers,
    survivors,
)

from gildash.engine.model import RunStarted, RunUpdate
from gildash.engine.recording import Recorder, read_recording
from gildash.engine.runner import Run

GUARD_S = 30.0
"""A broken run must fail the test, not hang the suite."""


async def guarded(run: Run, **kwargs: object) -> Observed:
    return await asyncio.wait_for(drive(run, **kwargs), GUARD_S)  # type: ignore[arg-type]


def assert_nothing_left(obs: Observed) -> None:
    pids = obs.tree | obs.reported | {obs.pid}
    left = survivors(obs.pid, pids)
    kill_leftovers(left)
    assert not left, f"processes outlived the run: {describe(left)}"


def strict_json(text: str) -> object:
    """json.loads that refuses Infinity/NaN, as any other JSON reader would."""

    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


async def test_deeply_nested_summary_still_finishes_and_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    with Recorder(path) as recorder:
        run = Run(hostile_spec("deep_summary"), recorder=recorder, noise_check=False)
        obs = await guarded(run)
    assert obs.result is not None and obs.result.status == "ok", obs.result
    assert recorder.error is None
    for line in path.read_text().splitlines():
        strict_json(line)
    recording = read_recording(path)
    assert [r.complete for r in recording.runs] == [True]
    assert recording.runs[0].result.status == "ok"


def test_run_json_with_a_deep_summary_and_1e309_is_valid_json(tmp_path: Path) -> None:
    proc = gildash(
        "run",
        "--cmd",
        " ".join(hostile_cmd("deep_summary")),
        "--no-noise-check",
        "--json",
        "--record",
        str(tmp_path / "r.jsonl"),
        env=cli_env(tmp_path),
        timeout=GUARD_S,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    data = strict_json(proc.stdout)
    assert isinstance(data, dict) and data["status"] == "ok"
    assert data["metrics"]["huge"] is None  # 1e309 is infinite: null in JSON


@pytest.mark.parametrize("mode", ["session", "double", "devnull"])
async def test_escaped_descendant_neither_lengthens_the_run_nor_outlives_it(mode: str) -> None:
    run = Run(hostile_spec("detached_holder", "--mode", mode), noise_check=False, sample_interval=0.05)
    t0 = time.monotonic()
    obs = await guarded(run)
    took = time.monotonic() - t0
    assert obs.result is not None and obs.result.status == "ok", obs.result
    assert obs.reported, "the fixture reports its escaped pid"
    assert took < STOP_BUDGET_S, f"the run lasted {took:.1f} s (held by its escaped descendant)"
    assert obs.result.harness_wall_s < STOP_BUDGET_S
    assert_nothing_left(obs)


@pytest.mark.parametrize("mode", ["session", "double"])
async def test_timeout_2_ends_within_its_stop_budget_with_an_escaped_pipe_holder(mode: str) -> None:
    spec = hostile_spec("detached_holder", "--mode", mode, "--hang", timeout_s=2.0)
    run = Run(spec, noise_check=False, sample_interval=0.05)
    t0 = time.monotonic()
    obs = await guarded(run)
    took = time.monotonic() - t0
    assert obs.result is not None and obs.result.status == "timeout", obs.result
    assert took < 2.0 + STOP_BUDGET_S, f"--timeout 2 took {took:.1f} s"
    assert_nothing_left(obs)


def test_cli_timeout_is_honoured_with_an_escaped_pipe_holder(tmp_path: Path) -> None:
    t0 = time.monotonic()
    proc = gildash(
        "run",
        "--cmd",
        " ".join(hostile_cmd("detached_holder", "--hold", "60")),
        "--no-noise-check",
        "--timeout",
        "2",
        "--json",
        "--record",
        str(tmp_path / "r.jsonl"),
        env=cli_env(tmp_path),
        timeout=GUARD_S,
    )
    took = time.monotonic() - t0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert took < 2 + STOP_BUDGET_S + 2, f"gildash run took {took:.1f} s"  # + interpreter start-up
    data = strict_json(proc.stdout)
    assert isinstance(data, dict)
    pid = json.loads(
        next(line for line in (tmp_path / "r.jsonl").read_text().splitlines() if "children" in line)
    )["raw"]
    detached = json.loads(pid)["children"]["detached"]
    left = survivors(0, [detached])
    kill_leftovers(left)
    assert not left, describe(left)


async def test_stopped_process_is_continued_and_terminated_quickly() -> None:
    run = Run(hostile_spec("stop_self"), noise_check=False, sample_interval=0.05)

    def started(obs: Observed, update: RunUpdate) -> bool:
        return obs.start is not None

    obs = await guarded(run, stop_when=started)
    assert obs.result is not None and obs.result.status == "stopped"
    # SIGCONT after SIGTERM: it dies of SIGTERM at once, not of SIGKILL after the grace period.
    assert obs.result.signal == signal.SIGTERM, obs.result
    assert obs.stop_to_finish_s < 1.5
    assert_nothing_left(obs)


def _first_started(updates: list[RunUpdate]) -> RunStarted:
    return next(u for u in updates if isinstance(u, RunStarted))
