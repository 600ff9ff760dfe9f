"""The stdlib workloads speak protocol v2 under the GIL and free-threaded interpreters, and clean up after
themselves: strict JSON lines that validate per event, correct results, both executors agreeing, aborts on
SIGTERM and exit when their parent dies."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from argparse import Namespace
from itertools import pairwise
from pathlib import Path
from typing import Any

import psutil
import pytest

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"

# Tiny sizes: every run finishes in well under a second (http_server runs for its --duration).
TINY: dict[str, list[str]] = {
    "sum_squares": ["--threads", "2", "--size", "3000"],
    "primes": ["--threads", "2", "--size", "5000", "--chunk", "700"],
    "io_bound": ["--threads", "2", "--ops", "3", "--mb", "1"],
    "single_thread": ["--threads", "2", "--size", "3000", "--repeat", "2"],
    "queue_pipeline": ["--threads", "2", "--size", "300", "--work", "20"],
    "http_server": ["--threads", "2", "--duration", "0.4", "--size", "500", "--io-ms", "1"],
    "contention": ["--threads", "2", "--size", "3000", "--pattern", "object", "--variant", "own"],
}

NUMBER = (int, float)


def _strict_constant(name: str) -> Any:
    raise ValueError(f"non-strict JSON constant {name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, NUMBER) and not isinstance(value, bool) and math.isfinite(value)


SCHEMA: dict[str, dict[str, Any]] = {
    "start": {
        "protocol": int,
        "workload": str,
        "params": dict,
        "scaling": str,
        "pid": int,
        "interpreter": dict,
        "cpu_count": (int, type(None)),
        "affinity": (list, type(None)),
    },
    "progress": {"worker": int, "done": int, "total": int},
    "slices": {"worker": int, "slices": list, "blocked": list},
    "worker_done": {"worker": int, "duration_s": "number", "cpu_s": ("number", None), "result": object},
    "summary": {
        "wall_s": "number",
        "wall_total_s": "number",
        "cpu_user_s": "number",
        "cpu_sys_s": "number",
        "cpu_s": "number",
        "ok": bool,
        "result": object,
        "expected": object,
        "gil_enabled": bool,
        "aborted": bool,
        "metrics": dict,
    },
    "error": {"message": str, "traceback": (str, type(None))},
}


def _type_ok(value: Any, spec: Any) -> bool:
    if spec == "number":
        return _is_number(value)
    if spec is object:
        return True
    if isinstance(spec, tuple) and "number" in spec:
        return value is None or _is_number(value)
    if spec is int or (isinstance(spec, tuple) and int in spec):
        if isinstance(value, bool):
            return False
    return isinstance(value, spec)


def validate(event: Any) -> None:
    """Assert one decoded line matches protocol v1 for its event kind."""
    assert isinstance(event, dict), event
    kind = event.get("event")
    assert kind in SCHEMA, f"unknown event {kind!r}"
    assert _is_number(event.get("t")) and event["t"] >= 0, event
    for field, spec in SCHEMA[kind].items():
        assert field in event, f"{kind} lacks {field}: {event}"
        assert _type_ok(event[field], spec), f"{kind}.{field} has the wrong type: {event[field]!r}"
    if kind == "start":
        assert event["protocol"] == 2
        assert isinstance(event["params"]["switch_interval_s"], float)
        timeline = event["timeline"]
        assert timeline is None or (timeline["gap_s"] == 0.0003 and timeline["check_every"] >= 1)
        assert event["scaling"] in ("weak", "strong", "none")
        params = event["params"]
        assert isinstance(params["threads"], int) and isinstance(params["size"], int)
        assert params["executor"] in ("thread", "process")
        interp = event["interpreter"]
        for key, typ in (("implementation", str), ("version", str), ("executable", str)):
            assert isinstance(interp[key], typ), interp
        assert isinstance(interp["free_threaded"], bool) and isinstance(interp["gil_enabled"], bool)
        assert event["affinity"] is None or all(isinstance(c, int) for c in event["affinity"])
    if kind == "progress":
        assert 0 <= event["done"] <= event["total"], event
    if kind == "slices":
        for key in ("slices", "blocked"):
            spans = event[key]
            assert all(len(s) == 2 and _is_number(s[0]) and 0 <= s[0] < s[1] for s in spans), spans
            assert all(a[1] <= b[0] for a, b in pairwise(spans)), f"{key} overlap or disorder"
            assert all(s[1] <= event["t"] for s in spans), "a span ends after the line was written"


def parse_lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line is strict JSON and validates."""
    events = []
    for line in stdout.splitlines():
        event = json.loads(line, parse_constant=_strict_constant)
        validate(event)
        events.append(event)
    return events


def run_workload(
    python: str, name: str, args: list[str], env: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run(
        [python, str(WORKLOADS / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return proc.returncode, parse_lines(proc.stdout), proc.stderr


def env_without_gil_override(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env.update(extra)
    return env


@pytest.fixture(params=["gil", "free-threaded"])
def interpreter(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, path): the interpreter running the tests, then the provisioned free-threaded build."""
    if request.param == "gil":
        return "gil", sys.executable
    return "free-threaded", str(request.getfixturevalue("ft_python"))


def check_normal_run(code: int, events: list[dict[str, Any]], stderr: str, name: str, executor: str) -> None:
    assert code == 0, stderr
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary", events
    assert [e["event"] for e in events].count("start") == 1
    start, summary = events[0], events[-1]
    assert start["workload"] == name
    assert start["params"]["executor"] == executor
    assert summary["ok"] is True and summary["aborted"] is False, summary
    assert summary["result"] == summary["expected"]
    done = sorted(e["worker"] for e in events if e["event"] == "worker_done")
    assert done == list(range(start["params"]["threads"])), done
    assert summary["wall_s"] <= summary["wall_total_s"]


@pytest.mark.parametrize("name", sorted(TINY))
def test_workload_speaks_protocol_and_executors_agree(interpreter: tuple[str, str], name: str) -> None:
    kind, python = interpreter
    results = {}
    for executor in ("thread", "process"):
        code, events, stderr = run_workload(
            python, name, [*TINY[name], "--executor", executor], env=env_without_gil_override()
        )
        check_normal_run(code, events, stderr, name, executor)
        start, summary = events[0], events[-1]
        timed = {e["worker"] for e in events if e["event"] == "slices"}
        assert timed == set(range(start["params"]["threads"])), f"workers with slices: {timed}"
        if kind == "free-threaded":
            assert start["interpreter"]["free_threaded"] is True
            assert start["interpreter"]["gil_enabled"] is False
            assert summary["gil_enabled"] is False
        else:
            assert start["interpreter"]["gil_enabled"] is True and summary["gil_enabled"] is True
        results[executor] = summary["result"]
    assert results["thread"] == results["process"]


def test_free_threaded_with_python_gil_1_reports_gil_on(ft_python: str) -> None:
    for executor in ("thread", "process"):
        code, events, stderr = run_workload(
            ft_python,
            "sum_squares",
            [*TINY["sum_squares"], "--executor", executor],
            env=env_without_gil_override(PYTHON_GIL="1"),
        )
        check_normal_run(code, events, stderr, "sum_squares", executor)
        assert events[0]["interpreter"]["free_threaded"] is True
        assert events[0]["interpreter"]["gil_enabled"] is True
        assert events[-1]["gil_enabled"] is True


def test_declared_scaling_and_size_meaning() -> None:
    expected = {
        "sum_squares": "weak",
        "primes": "strong",
        "io_bound": "strong",
        "queue_pipeline": "strong",
        "single_thread": "none",
        "http_server": "none",
        "contention": "weak",
    }
    for name, scaling in expected.items():
        code, events, stderr = run_workload(sys.executable, name, [*TINY[name]])
        assert code == 0, stderr
        assert events[0]["scaling"] == scaling
    # the help text says per worker or total
    help_text = subprocess.run(
        [sys.executable, str(WORKLOADS / "sum_squares.py"), "--help"], capture_output=True, text=True
    ).stdout
    assert "PER WORKER" in help_text
    help_text = subprocess.run(
        [sys.executable, str(WORKLOADS / "primes.py"), "--help"], capture_output=True, text=True
    ).stdout
    assert "TOTAL" in help_text


def test_single_thread_forces_one_worker_and_reports_repeats() -> None:
    code, events, stderr = run_workload(
        sys.executable, "single_thread", ["--threads", "3", "--size", "1000", "--repeat", "4"]
    )
    assert code == 0, stderr
    params = events[0]["params"]
    assert params["threads"] == 1 and params["threads_requested"] == 3 and "note" in params
    metrics = events[-1]["metrics"]
    assert len(metrics["repeat_s"]) == 4
    assert metrics["best_s"] <= metrics["mean_s"]
    assert events[-1]["result"] == 1000 * 999 // 2


def test_http_server_reports_per_endpoint_rates() -> None:
    code, events, stderr = run_workload(sys.executable, "http_server", TINY["http_server"])
    assert code == 0, stderr
    metrics = events[-1]["metrics"]
    for endpoint in ("cpu", "io"):
        entry = metrics["endpoints"][endpoint]
        assert entry["requests"] >= 1 and entry["bad"] == 0
        assert entry["requests_per_s"] > 0
        # the server counted what the clients completed
        assert metrics["served"][endpoint] == entry["requests"]
    assert metrics["requests"] == sum(metrics["endpoints"][e]["requests"] for e in ("cpu", "io"))


def test_io_bound_leaves_no_files(tmp_path: Path) -> None:
    for executor in ("thread", "process"):
        code, events, stderr = run_workload(
            sys.executable, "io_bound", [*TINY["io_bound"], "--executor", executor, "--dir", str(tmp_path)]
        )
        assert code == 0, stderr
        assert events[-1]["result"] == {"ops": 3, "bytes": 3 * 1024 * 1024}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--threads", "0"],
        ["--threads", "1025"],
        ["--size", "0"],
        ["--executor", "fiber"],
        ["--threads", "two"],
    ],
)
def test_bad_arguments_exit_2_with_an_error_line(args: list[str]) -> None:
    code, events, _stderr = run_workload(sys.executable, "sum_squares", args)
    assert code == 2
    assert [e["event"] for e in events] == ["error"]


@pytest.mark.parametrize(
    ("name", "args"),
    [("io_bound", ["--mb", "0"]), ("http_server", ["--duration", "31"]), ("primes", ["--chunk", "0"])],
)
def test_workload_knobs_are_validated(name: str, args: list[str]) -> None:
    code, events, _stderr = run_workload(sys.executable, name, args)
    assert code == 2 and events[-1]["event"] == "error"


@pytest.mark.parametrize("variant", ["own", "shared"])
@pytest.mark.parametrize("pattern", ["list", "object", "counter", "dict"])
def test_contention_variants_check_their_objects_and_report_the_work_rate(
    interpreter: tuple[str, str], pattern: str, variant: str
) -> None:
    _kind, python = interpreter
    args = ["--threads", "2", "--size", "12000", "--pattern", pattern, "--variant", variant]
    code, events, stderr = run_workload(python, "contention", args, env=env_without_gil_override())
    check_normal_run(code, events, stderr, "contention", "thread")
    start, summary = events[0], events[-1]
    assert start["params"]["pattern"] == pattern and start["params"]["variant"] == variant
    assert summary["result"] == 24000
    metrics = summary["metrics"]
    assert metrics["items"] == 24000 and metrics["items_per_s"] > 0
    # the work rate can also be followed live: every worker's progress ends at its full size
    last = {e["worker"]: e["done"] for e in events if e["event"] == "progress"}
    assert last == {0: 12000, 1: 12000}


@pytest.mark.parametrize("pattern", ["list", "object", "dict"])
def test_contention_shared_objects_cannot_cross_processes(pattern: str) -> None:
    args = ["--pattern", pattern, "--variant", "shared", "--executor", "process"]
    code, events, _stderr = run_workload(sys.executable, "contention", args)
    assert code == 2 and [e["event"] for e in events] == ["error"]
    assert "needs --executor thread" in events[0]["message"]


def test_contention_locked_counter_works_across_processes() -> None:
    args = ["--threads", "2", "--size", "3000", "--pattern", "counter", "--variant", "shared"]
    code, events, stderr = run_workload(sys.executable, "contention", [*args, "--executor", "process"])
    check_normal_run(code, events, stderr, "contention", "process")
    assert events[-1]["metrics"]["items"] == 6000


def test_contention_checks_catch_lost_updates(workload_modules: Any) -> None:
    c = workload_modules.contention
    args = Namespace(size=10, threads=2, pattern="counter", variant="shared")

    def worker(items: int) -> dict[str, Any]:
        return {"items": items, "check": 0, "t0": 1.0, "t1": 2.0}

    c._PARENT_SHARED["value"] = (None, [20])
    assert c.combine(args, [worker(10), worker(10)], {}).ok
    c._PARENT_SHARED["value"] = (None, [19])  # an increment lost to a race
    assert not c.combine(args, [worker(10), worker(10)], {}).ok
    args = Namespace(size=10, threads=2, pattern="list", variant="shared")
    c._PARENT_SHARED["value"] = [7]  # a pop missing
    assert not c.combine(args, [worker(10), worker(10)], {}).ok
    args = Namespace(size=10, threads=1, pattern="object", variant="own")
    assert not c.combine(args, [{"items": 10, "check": 9, "t0": 1.0, "t1": 2.0}], {}).ok
    c._PARENT_SHARED.clear()


# ---------------------------------------------------------------- in-process checks of the helpers


@pytest.fixture(scope="module")
def workload_modules() -> Any:
    sys.path.insert(0, str(WORKLOADS))
    try:
        import _protocol
        import contention
        import primes
        import queue_pipeline
        import sum_squares

        yield Namespace(
            proto=_protocol,
            primes=primes,
            sum_squares=sum_squares,
            queue_pipeline=queue_pipeline,
            contention=contention,
        )
    finally:
        sys.path.remove(str(WORKLOADS))


def test_checks_fail_on_wrong_results(workload_modules: Any) -> None:
    m = workload_modules
    args = Namespace(size=100, threads=2)
    right = m.sum_squares.closed_form(100)
    assert right == sum(i * i for i in range(100))
    assert m.sum_squares.combine(args, [right, right], {}).ok
    assert not m.sum_squares.combine(args, [right, right + 1], {}).ok
    found = {"primes": 25, "numbers": 100, "chunks": 1}
    assert m.primes.combine(args, [found, {"primes": 0, "numbers": 0, "chunks": 0}], {}).ok
    assert not m.primes.combine(
        args, [dict(found, primes=24), {"primes": 0, "numbers": 0, "chunks": 0}], {}
    ).ok
    # a number checked twice is caught even when the count happens to match
    assert not m.primes.combine(args, [found, {"primes": 0, "numbers": 5, "chunks": 1}], {}).ok


def test_known_prime_counts_match_the_sieve(workload_modules: Any) -> None:
    primes = workload_modules.primes
    for below, count in primes.KNOWN_PI.items():
        assert primes.sieve_count(below) == count
    assert sum(primes.is_prime(n) for n in range(1000)) == 168


def test_emitter_writes_strict_json(workload_modules: Any, capsys: pytest.CaptureFixture[str]) -> None:
    emitter = workload_modules.proto.Emitter()
    emitter.emit("summary", wall_s=float("nan"), metrics={"x": [float("inf"), 1.5]})
    line = capsys.readouterr().out
    assert line.endswith("\n") and line.count("\n") == 1
    obj = json.loads(line, parse_constant=_strict_constant)
    assert obj["wall_s"] is None and obj["metrics"]["x"] == [None, 1.5]


# ---------------------------------------------------------------- life-cycle


def _read_until_progress(proc: subprocess.Popen[str], timeout: float = 15) -> list[dict[str, Any]]:
    events = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "workload ended before reporting progress"
        events.append(json.loads(line, parse_constant=_strict_constant))
        validate(events[-1])
        if events[-1]["event"] == "progress":
            return events
    raise AssertionError("no progress line in time")


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["thread", "process"])
def test_sigterm_aborts_with_summary(executor: str) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(WORKLOADS / "sum_squares.py"),
            "--threads",
            "2",
            "--size",
            "10000000000",
            "--executor",
            executor,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        events = _read_until_progress(proc)
        time.sleep(0.3)  # let a few throttled progress lines go out
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=3)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events += parse_lines(out)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["aborted"] is True and summary["ok"] is False
    assert proc.returncode == 128 + signal.SIGTERM
    if executor == "thread":
        # throttled: consecutive progress lines of one worker are ~0.1 s apart (the last one excepted)
        for worker in (0, 1):
            times = [e["t"] for e in events if e["event"] == "progress" and e["worker"] == worker]
            assert all(b - a > 0.05 for a, b in zip(times, times[1:], strict=False)), times


@pytest.mark.slow
def test_sigterm_removes_io_files(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(WORKLOADS / "io_bound.py"),
            "--threads",
            "2",
            "--ops",
            "10000",
            "--mb",
            "8",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _read_until_progress(proc)
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=3)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert parse_lines(out)[-1]["aborted"] is True
    assert list(tmp_path.iterdir()) == []


WRAPPER = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True)
    for line in child.stdout:
        if '"progress"' in line:
            break
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("sum_squares", ["--threads", "2", "--size", "10000000000"]),
        ("http_server", ["--threads", "2", "--duration", "30"]),
    ],
)
def test_workload_and_children_exit_when_parent_dies(name: str, args: list[str]) -> None:
    wrapper = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRAPPER,
            sys.executable,
            str(WORKLOADS / f"{name}.py"),
            *args,
            "--executor",
            "process",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        assert wrapper.stdout is not None
        workload_pid = int(wrapper.stdout.readline())
        pids = [workload_pid] + [c.pid for c in psutil.Process(workload_pid).children(recursive=True)]
        assert len(pids) >= 3  # the workload and at least its two worker processes
        wrapper.kill()
        wrapper.wait()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not all(_gone(p) for p in pids):
            time.sleep(0.05)
        assert [p for p in pids if not _gone(p)] == []
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
        for pid in pids:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_worker_processes_exit_when_the_workload_is_killed() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(WORKLOADS / "primes.py"),
            "--threads",
            "2",
            "--size",
            "100000000",
            "--executor",
            "process",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pids: list[int] = []
    try:
        _read_until_progress(proc)
        pids = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert len(pids) >= 2
        proc.kill()  # SIGKILL: no clean-up code runs in the workload itself
        proc.wait()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not all(_gone(p) for p in pids):
            time.sleep(0.05)
        assert [p for p in pids if not _gone(p)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_uncaught_exception_becomes_an_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    code, events, _stderr = run_workload(
        sys.executable, "io_bound", [*TINY["io_bound"], "--dir", str(missing)]
    )
    assert code == 1
    assert events[0]["event"] == "start" and events[-1]["event"] == "error"
    assert "FileNotFoundError" in events[-1]["message"]
    assert "Traceback" in events[-1]["traceback"]


# ---------------------------------------------------------------- timeline (self-timing) and switch interval


def _slices_by_worker(events: list[dict[str, Any]]) -> dict[int, list[list[float]]]:
    out: dict[int, list[list[float]]] = {}
    for e in events:
        if e["event"] == "slices":
            out.setdefault(e["worker"], []).extend(e["slices"])
    return out


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_slices_lie_in_the_run_clock_between_start_and_summary(executor: str) -> None:
    code, events, stderr = run_workload(
        sys.executable, "sum_squares", ["--threads", "2", "--size", "200000", "--executor", executor]
    )
    assert code == 0, stderr
    start, summary = events[0], events[-1]
    by_worker = _slices_by_worker(events)
    assert sorted(by_worker) == [0, 1]
    for worker, spans in by_worker.items():
        done = next(e for e in events if e["event"] == "worker_done" and e["worker"] == worker)
        # process children time themselves from the parent's clock origin: same axis as `t`
        assert start["t"] < spans[0][0] and spans[-1][1] <= done["t"] <= summary["t"]
        on_cpu = sum(b - a for a, b in spans)
        assert 0 < on_cpu <= done["duration_s"] + 0.001


def test_timeline_can_be_switched_off() -> None:
    env = dict(os.environ, GILDASH_TIMELINE="0")
    code, events, stderr = run_workload(sys.executable, "sum_squares", TINY["sum_squares"], env=env)
    assert code == 0, stderr
    assert events[0]["timeline"] is None
    assert not [e for e in events if e["event"] == "slices"]


def test_blocked_spans_are_reported_apart_from_slices() -> None:
    # one consumer waits on an empty queue while the producer is slowed by tiny batches of heavy items
    code, events, stderr = run_workload(
        sys.executable, "io_bound", ["--threads", "1", "--ops", "2", "--mb", "4", "--fsync-every", "1"]
    )
    assert code == 0, stderr
    blocked = [s for e in events if e["event"] == "slices" for s in e["blocked"]]
    on_cpu = [s for e in events if e["event"] == "slices" for s in e["slices"]]
    assert blocked, "fsync waits must show as blocked spans"
    # a worker is never on the CPU and blocked at once
    for a, b in blocked:
        assert all(e <= a or s >= b for s, e in on_cpu)


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_switch_interval_is_applied_and_reported(executor: str) -> None:
    code, events, stderr = run_workload(
        sys.executable,
        "sum_squares",
        [*TINY["sum_squares"], "--executor", executor, "--switch-interval", "0.001"],
    )
    assert code == 0, stderr
    params = events[0]["params"]
    assert params["switch_interval"] == 0.001 and params["switch_interval_s"] == pytest.approx(0.001)
    code, events, _ = run_workload(sys.executable, "sum_squares", TINY["sum_squares"])
    assert events[0]["params"]["switch_interval"] is None
    assert events[0]["params"]["switch_interval_s"] == pytest.approx(0.005)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "2", "fast"])
def test_bad_switch_interval_exits_2(value: str) -> None:
    code, events, _stderr = run_workload(sys.executable, "primes", ["--switch-interval", value])
    assert code == 2 and [e["event"] for e in events] == ["error"]


def _fake_clock(proto: Any, ticks: Any) -> Any:
    """Replace the timer's clock by an iterator of nanosecond readings; returns the original."""
    original = proto._clock_ns
    readings = iter(ticks)
    proto._clock_ns = lambda: next(readings)
    return original


def test_slice_timer_cuts_at_gaps_and_reports_long_waits_as_blocked(workload_modules: Any) -> None:
    proto = workload_modules.proto
    ms = 1_000_000
    ticks = [1.0, 1.1, 1.2, 2.0, 2.1, 2.15, 2.2, 5.0, 9.0, 9.05]
    original = _fake_clock(proto, [int(t * ms) for t in ticks])
    sent: list[tuple[int, list[list[float]], list[list[float]]]] = []
    try:
        timer = proto.SliceTimer(3, 0, lambda w, on, off: sent.append((w, on, off)))  # 1.0 ms
        timer.check()  # 1.1: on CPU
        timer.check()  # 1.2: on CPU
        timer.check()  # 2.0: a 0.8 ms gap -> slice [1.0, 1.2] closed, the next one opens at 2.0
        timer.unblock(timer.block())  # 2.1 -> 2.15: a 0.05 ms wait stays on-CPU time
        timer.unblock(timer.block())  # 2.2 -> 5.0: a blocked span, the slice before it closed
        timer.check()  # 9.0: 4 ms off the CPU right after the wait: no empty slice
        timer.close()  # 9.05
    finally:
        proto._clock_ns = original
    assert sent == [(3, [[0.001, 0.0012], [0.002, 0.0022], [0.009, 0.00905]], [[0.0022, 0.005]])]


def test_slice_timer_sends_batches_that_touch_at_the_flush(workload_modules: Any) -> None:
    proto = workload_modules.proto
    step = 100_000  # a clock read every 0.1 ms, never a gap
    original = _fake_clock(proto, range(0, 400_000_000, step))
    sent: list[list[list[float]]] = []
    try:
        timer = proto.SliceTimer(0, 0, lambda w, on, off: sent.append(on))
        for _ in range(3000):  # up to 0.3 s: one flush at 0.25 s on the way
            timer.check()
        timer.close()
    finally:
        proto._clock_ns = original
    assert len(sent) == 2
    assert sent[0] == [[0.0, 0.25]]
    assert sent[1][0][0] == sent[0][-1][1] and sent[1] == [[0.25, 0.3001]]
