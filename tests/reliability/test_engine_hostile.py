"""Hostile workloads through the engine (runner.Run): the failure is named, stop ends it, nothing survives."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from reliability_support import (
    STOP_BUDGET_S,
    Observed,
    describe,
    drive,
    hostile_spec,
    kill_leftovers,
    survivors,
)

from gildash.engine.model import (
    EventReceived,
    MalformedLine,
    ProcSample,
    ProgressEvent,
    RunStarted,
    RunUpdate,
    StartEvent,
    SummaryEvent,
    WorkerDoneEvent,
)
from gildash.engine.runner import Run

ALL_FIXTURES = (
    "raise_midrun",
    "no_summary",
    "exit3_after_summary",
    "non_json",
    "bad_utf8",
    "wrong_shape",
    "long_line",
    "flood",
    "ignore_sigterm",
    "sleep_forever",
    "spawn_tree",
    "close_stdout",
    "stderr_only",
)


def make_run(name: str, *args: str, timeout_s: float | None = None) -> Run:
    return Run(hostile_spec(name, *args, timeout_s=timeout_s), noise_check=False, sample_interval=0.05)


def assert_nothing_left(obs: Observed) -> None:
    pids = obs.tree | obs.reported | {obs.pid}
    left = survivors(obs.pid, pids)
    kill_leftovers(left)
    assert not left, f"processes outlived the run: {describe(left)}"


def events(obs: Observed, kind: type) -> list[object]:
    return [u.event for u in obs.updates if isinstance(u, EventReceived) and isinstance(u.event, kind)]


# --- failures that end by themselves: the result names them ------------------------------------------


async def test_raise_midrun_is_crashed_with_exit_code_and_the_exception() -> None:
    obs = await drive(make_run("raise_midrun"))
    r = obs.result
    assert r is not None and r.status == "crashed" and not r.ok
    assert r.exit_code == 1 and r.signal is None
    assert "exit code 1" in r.message and "RuntimeError" in r.message
    assert "Traceback" in r.stderr_tail and "hostile fixture blew up" in r.stderr_tail
    assert len(events(obs, ProgressEvent)) == 3  # what came before the crash is kept
    assert_nothing_left(obs)


async def test_exit_zero_without_summary_is_failed() -> None:
    obs = await drive(make_run("no_summary"))
    r = obs.result
    assert r is not None and r.status == "failed" and r.exit_code == 0
    assert "without a summary" in r.message and r.wall_s is None
    assert_nothing_left(obs)


async def test_exit_3_after_a_valid_summary_is_crashed_not_ok() -> None:
    obs = await drive(make_run("exit3_after_summary"))
    r = obs.result
    assert r is not None and r.status == "crashed" and not r.ok
    assert r.exit_code == 3 and "exit code 3" in r.message
    assert_nothing_left(obs)


async def test_non_json_lines_are_counted_and_shown_raw() -> None:
    obs = await drive(make_run("non_json"))
    r = obs.result
    assert r is not None and r.malformed_lines == 5 and r.truncated_lines == 0
    bad = events(obs, MalformedLine)
    assert len(bad) == 5 and all(isinstance(b, MalformedLine) and b.reason for b in bad)
    # The valid summary still counts: the garbage is flagged, not fatal.
    assert r.status == "ok" and r.result_value == 5
    assert_nothing_left(obs)


async def test_invalid_utf8_is_replaced_never_fatal() -> None:
    obs = await drive(make_run("bad_utf8"))
    r = obs.result
    assert r is not None and r.status == "ok"
    # Two raw garbage lines are rejected; the JSON line with a bad byte inside a string decodes with U+FFFD.
    assert r.malformed_lines == 2
    raws = [u.raw for u in obs.updates if isinstance(u, EventReceived)]
    assert any("\ufffd" in raw for raw in raws)
    assert_nothing_left(obs)


async def test_wrong_shape_json_is_flagged_not_trusted() -> None:
    obs = await drive(make_run("wrong_shape"))
    r = obs.result
    assert r is not None and r.malformed_lines == 14  # every line after the start line
    assert r.status == "failed" and "without a summary" in r.message and "14" in r.message
    # Nothing negative, NaN, infinite or absurd leaked into the result.
    assert r.worker_durations == () and r.wall_s is None
    assert not events(obs, WorkerDoneEvent) and not events(obs, SummaryEvent)
    starts = events(obs, StartEvent)
    assert len(starts) == 1 and isinstance(starts[0], StartEvent) and starts[0].params["threads"] == 2
    assert r.effective_cores is None or math.isfinite(r.effective_cores)
    assert_nothing_left(obs)


async def test_ten_megabyte_line_without_newline_is_truncated_once() -> None:
    obs = await drive(make_run("long_line"))
    r = obs.result
    assert r is not None and r.truncated_lines == 1 and r.malformed_lines == 1
    assert r.status == "failed" and r.exit_code == 0
    bad = events(obs, MalformedLine)
    assert len(bad) == 1 and isinstance(bad[0], MalformedLine) and bad[0].truncated
    # Bounded: the kept prefix is at most the 1 MiB line limit, not the 10 MB the workload wrote.
    assert len(bad[0].raw) <= (1 << 20)
    assert_nothing_left(obs)


async def test_stderr_only_exits_zero_and_keeps_the_stderr_tail() -> None:
    obs = await drive(make_run("stderr_only"))
    r = obs.result
    assert r is not None and r.status == "failed" and r.exit_code == 0
    assert "without a summary" in r.message
    assert "finished without a word on stdout" in r.stderr_tail
    assert r.malformed_lines == 0
    assert_nothing_left(obs)


@pytest.mark.slow
async def test_flood_of_progress_lines_is_never_dropped() -> None:
    obs = await drive(make_run("flood", "--seconds", "3"))
    r = obs.result
    assert r is not None and r.status == "ok", r.message
    received = len(events(obs, ProgressEvent))
    assert isinstance(r.result_value, int) and r.result_value > 0
    assert received == r.result_value  # every line the workload wrote reached us, in spite of the rate
    assert r.malformed_lines == 0
    assert_nothing_left(obs)


# --- failures that never end by themselves: stop / timeout end them -----------------------------------


def _has_start_and_sample(obs: Observed, update: RunUpdate) -> bool:
    # After the start line and one tree sample, so the sampler has seen every child (escaped ones too).
    return obs.start is not None and isinstance(update, ProcSample)


@pytest.mark.slow
async def test_sigterm_ignorer_is_killed_within_the_stop_budget() -> None:
    obs = await drive(make_run("ignore_sigterm"), stop_when=_has_start_and_sample)
    r = obs.result
    assert r is not None and r.status == "stopped" and r.message == "stopped"
    assert r.signal == 9  # SIGTERM was ignored; SIGKILL followed
    assert obs.stop_to_finish_s <= STOP_BUDGET_S
    assert_nothing_left(obs)


async def test_silent_sleeper_times_out() -> None:
    obs = await drive(make_run("sleep_forever", timeout_s=0.5))
    r = obs.result
    assert r is not None and r.status == "timeout" and "timed out after 0.5 s" in r.message
    assert r.malformed_lines == 0 and not events(obs, StartEvent)
    assert_nothing_left(obs)


async def test_silent_sleeper_is_stopped() -> None:
    obs = await drive(
        make_run("sleep_forever"),
        stop_when=lambda o, u: sum(isinstance(x, ProcSample) for x in o.updates) >= 2,
    )
    r = obs.result
    assert r is not None and r.status == "stopped" and obs.stop_to_finish_s <= STOP_BUDGET_S
    assert_nothing_left(obs)


@pytest.mark.slow
async def test_pool_grandchildren_and_escaped_sleep_all_die_on_stop() -> None:
    obs = await drive(make_run("spawn_tree"), stop_when=_has_start_and_sample)
    r = obs.result
    assert r is not None and r.status == "stopped"
    assert obs.stop_to_finish_s <= STOP_BUDGET_S
    # pool workers (2), their sleep grandchildren (2) and the detached sleep, as the fixture reported them
    assert len(obs.reported) == 5, obs.reported
    assert obs.reported <= obs.tree, "the tree walk missed a reported child"
    assert_nothing_left(obs)


@pytest.mark.slow
async def test_pool_and_escaped_sleep_die_on_timeout_too() -> None:
    obs = await drive(make_run("spawn_tree", timeout_s=1.5))
    r = obs.result
    assert r is not None and r.status == "timeout"
    assert len(obs.reported) == 5
    assert_nothing_left(obs)


async def test_closed_stdout_keeps_burning_until_stopped() -> None:
    samples: list[float] = []

    def burning(obs: Observed, update: RunUpdate) -> bool:
        if isinstance(update, ProcSample) and obs.start is not None:
            samples.append(update.effective_cores)
        return len(samples) >= 6  # stdout hit EOF long ago; the process is still running

    obs = await drive(make_run("close_stdout"), stop_when=burning)
    r = obs.result
    assert r is not None and r.status == "stopped" and obs.stop_to_finish_s <= STOP_BUDGET_S
    assert max(samples) > 0.3  # generous: it really was burning CPU after closing stdout
    assert_nothing_left(obs)


# --- every fixture: stop right after spawn ends it and leaves nothing ----------------------------------


@pytest.mark.parametrize("name", ALL_FIXTURES)
async def test_stop_right_after_spawn(name: str) -> None:
    obs = await drive(make_run(name), stop_when=lambda o, u: isinstance(u, RunStarted))
    r = obs.result
    assert r is not None and r.status in ("stopped", "crashed", "failed", "ok")
    assert obs.stop_to_finish_s <= STOP_BUDGET_S
    assert_nothing_left(obs)


async def test_evil_output_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    obs = await drive(make_run("evil_output", "--marker", str(marker)))
    r = obs.result
    assert r is not None and not marker.exists()
    # The payloads are kept verbatim as data (malformed lines / error messages), never run.
    raws = [u.raw for u in obs.updates if isinstance(u, EventReceived)]
    assert any(raw == f"$(touch {marker})" for raw in raws)
    assert json.loads(raws[0])["workload_note"].startswith("$(touch")
    assert_nothing_left(obs)
