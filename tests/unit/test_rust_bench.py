"""The Rust baseline: built through rust_target, it must speak protocol v2 and compute what Python does."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from gildash.engine import paths, rust_target

REPO = Path(__file__).resolve().parents[2]
NUMBER = (int, float)
OPT_NUMBER = (int, float, type(None))
# Field -> accepted types, per event (docs/protocol.md).
SHAPES: dict[str, dict[str, Any]] = {
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
    "worker_done": {"worker": int, "duration_s": NUMBER, "cpu_s": OPT_NUMBER, "result": object},
    "summary": {
        "wall_s": NUMBER,
        "wall_total_s": NUMBER,
        "cpu_user_s": OPT_NUMBER,
        "cpu_sys_s": OPT_NUMBER,
        "cpu_s": OPT_NUMBER,
        "ok": bool,
        "result": object,
        "expected": object,
        "gil_enabled": bool,
        "aborted": bool,
        "metrics": dict,
    },
    "error": {"message": str, "traceback": (str, type(None))},
}


@pytest.fixture(scope="module")
def bench() -> Path:
    """The built binary (cargo builds it into the gildash cache on first use)."""
    if rust_target.find_cargo() is None:
        pytest.skip("cargo not installed")
    binary, reason = rust_target.rust_binary()
    assert binary is not None, reason
    return binary


def check_shape(event: dict[str, Any]) -> None:
    assert event["event"] in SHAPES, event
    assert isinstance(event["t"], NUMBER) and event["t"] >= 0, event
    for name, kind in SHAPES[event["event"]].items():
        assert name in event, (name, event)
        assert isinstance(event[name], kind), (name, event)
        # bool is an int subclass in Python: a count must never arrive as true/false.
        if kind in (int, NUMBER, OPT_NUMBER):
            assert not isinstance(event[name], bool), (name, event)


def run(bench: Path, *args: str, timeout: float = 30) -> tuple[list[dict[str, Any]], int]:
    proc = subprocess.run([str(bench), *args], capture_output=True, text=True, timeout=timeout, check=False)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    for event in events:
        check_shape(event)
    return events, proc.returncode


def sum_squares_python(size: int) -> int:
    """What workloads/sum_squares.py computes per worker, in exact Python ints."""
    return (size - 1) * size * (2 * size - 1) // 6 if size > 0 else 0


def primes_below(size: int) -> int:
    sieve = bytearray([1]) * max(size, 2)
    sieve[0:2] = b"\x00\x00"
    for p in range(2, int(size**0.5) + 1):
        if sieve[p]:
            sieve[p * p :: p] = bytearray(len(range(p * p, size, p)))
    return sum(sieve[:size])


def test_target_describes_the_native_baseline(bench: Path) -> None:
    target = rust_target.rust_target()
    assert target.available and target.reason == ""
    assert Path(target.executable) == bench
    assert (target.id, target.kind, target.implementation) == ("rust", "rust", "rust")
    assert target.free_threaded and not target.gil_enabled
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=False).stdout
    if rustc:
        assert rustc.split()[1] == target.version


def test_binary_is_built_into_the_cache_not_the_sources(bench: Path) -> None:
    assert bench.is_relative_to(paths.cache_dir())
    assert not bench.is_relative_to(paths.rust_src_dir())


@pytest.mark.parametrize(("threads", "size"), [(1, 1), (1, 2), (2, 1000), (3, 65_537), (2, 200_000)])
def test_sum_squares_protocol_and_result(bench: Path, threads: int, size: int) -> None:
    events, code = run(bench, "sum_squares", "--threads", str(threads), "--size", str(size), "--seed", "1")
    assert code == 0
    start, summary = events[0], events[-1]
    assert start["event"] == "start" and summary["event"] == "summary"
    assert start["protocol"] == 2 and start["workload"] == "sum_squares" and start["scaling"] == "weak"
    assert start["params"]["threads"] == threads and start["params"]["size"] == size
    assert start["params"]["executor"] == "thread" and start["params"]["seed"] == 1
    assert start["interpreter"]["implementation"] == "rust"
    assert start["interpreter"]["free_threaded"] is True and start["interpreter"]["gil_enabled"] is False
    assert Path(start["interpreter"]["executable"]).resolve() == bench.resolve()
    done = [e for e in events if e["event"] == "worker_done"]
    assert sorted(e["worker"] for e in done) == list(range(threads))
    expected = sum_squares_python(size)
    assert all(e["result"] == expected for e in done)
    assert summary["ok"] is True and summary["aborted"] is False and summary["gil_enabled"] is False
    assert summary["result"] == expected and summary["expected"] == expected
    assert summary["metrics"]["workers_agree"] is True
    assert summary["wall_s"] <= summary["wall_total_s"]
    assert [e for e in events if e["event"] in ("start", "summary")] == [start, summary]


def test_sum_squares_beyond_u64_matches_python_ints(bench: Path) -> None:
    # The total passes 2**64 at size ~3.8M: Python ints do not wrap, so neither may the baseline.
    size = 4_000_000
    assert sum_squares_python(size) > 2**64
    events, code = run(bench, "sum_squares", "--size", str(size))
    assert code == 0 and events[-1]["result"] == sum_squares_python(size)


@pytest.mark.parametrize(
    ("threads", "size", "chunk"),
    [(1, 1, 1), (1, 2, 7), (1, 100, 10), (2, 1000, 64), (2, 10_000, None), (3, 54_321, 999)],
)
def test_primes_protocol_and_count(bench: Path, threads: int, size: int, chunk: int | None) -> None:
    extra = ["--chunk", str(chunk)] if chunk is not None else []
    events, code = run(bench, "primes", "--threads", str(threads), "--size", str(size), *extra)
    assert code == 0
    start, summary = events[0], events[-1]
    assert start["workload"] == "primes" and start["scaling"] == "strong"
    assert start["params"]["chunk"] == (chunk or 10_000)
    done = [e for e in events if e["event"] == "worker_done"]
    assert sorted(e["worker"] for e in done) == list(range(threads))
    # Strong scaling: the workers split the range, so their counts add up to the answer.
    assert sum(e["result"]["primes"] for e in done) == primes_below(size)
    assert sum(e["result"]["numbers"] for e in done) == size == summary["metrics"]["numbers_checked"]
    chunks = -(-size // (chunk or 10_000))
    assert sum(e["result"]["chunks"] for e in done) == chunks == sum(summary["metrics"]["chunks_per_worker"])
    assert summary["ok"] is True and summary["result"] == primes_below(size) == summary["expected"]
    assert summary["metrics"]["expected_from"] in ("known", "sieve")


def test_progress_is_throttled_and_bounded(bench: Path) -> None:
    events, _ = run(bench, "primes", "--threads", "2", "--size", "1000000")
    summary = events[-1]
    progress = [e for e in events if e["event"] == "progress"]
    assert all(0 <= e["done"] <= e["total"] == 1_000_000 for e in progress)
    for worker in (0, 1):
        mine = [e for e in progress if e["worker"] == worker]
        assert len(mine) <= 10 * summary["wall_total_s"] + 2


def test_time_grows_linearly_with_size(bench: Path) -> None:
    """Guards against the optimizer folding the loop into its closed form (would make t4/t1 ~ 1)."""

    def wall(size: int) -> float:
        walls: list[float] = []
        for _ in range(2):
            events, code = run(bench, "sum_squares", "--size", str(size))
            assert code == 0 and events[-1]["ok"]
            walls.append(float(events[-1]["wall_s"]))
        return min(walls)

    size = 4_000_000
    t1 = wall(size)
    while t1 < 0.05 and size < 4_000_000_000:
        size *= 4
        t1 = wall(size)
    t4 = wall(4 * size)
    assert t4 / t1 >= 2.5, f"size {size}: {t1:.4f} s, 4x size: {t4:.4f} s"


@pytest.mark.parametrize("workload", ["sum_squares", "primes"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_prints_an_aborted_summary(bench: Path, workload: str, signum: int) -> None:
    proc = subprocess.Popen(
        [str(bench), workload, "--threads", "2", "--size", "1000000000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["event"] == "start"
        assert json.loads(proc.stdout.readline())["event"] == "progress"  # the workers are busy now
        sent = time.monotonic()
        proc.send_signal(signum)
        rest, _ = proc.communicate(timeout=3)
        assert time.monotonic() - sent < 3
    finally:
        proc.kill()
        proc.wait()
    events = [json.loads(line) for line in rest.splitlines()]
    for event in events:
        check_shape(event)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["aborted"] is True and summary["ok"] is False
    assert summary["result"] is None and summary["expected"] is None
    assert not any(e["event"] == "worker_done" for e in events)
    assert proc.returncode == 128 + signum


def test_exits_when_its_parent_dies(bench: Path) -> None:
    # The shell outlives the workload's start-up (so the watchdog saw it), then exits, orphaning it.
    out = subprocess.run(
        ["sh", "-c", f"'{bench}' primes --size 1000000000000 >/dev/null 2>&1 & echo $!; sleep 0.3"],
        capture_output=True,
        text=True,
        check=True,
    )
    orphan = psutil.Process(int(out.stdout.strip()))
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                if orphan.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        else:
            pytest.fail("rust_cpu_bench outlived its parent by 3 s")
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            orphan.kill()


@pytest.mark.parametrize(
    "args",
    [
        ["sum_squares", "--executor", "process"],
        ["primes", "--executor", "process", "--threads", "2"],
        ["sum_squares", "--threads", "0"],
        ["sum_squares", "--size", "-5"],
        ["sum_squares", "--size", "0"],
        ["sum_squares", "--threads", "1025"],
        ["sum_squares", "--chunk", "10"],
        ["primes", "--chunk", "0"],
        ["sum_squares", "--size", "many"],
        ["sum_squares", "--frobnicate"],
        ["no_such_workload"],
        [],
    ],
)
def test_invalid_arguments_print_an_error_and_exit_2(bench: Path, args: list[str]) -> None:
    events, code = run(bench, *args)
    assert code == 2
    assert [e["event"] for e in events] == ["error"]
    assert events[0]["message"]


def test_no_cargo_gives_a_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GILDASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "no-cargo-home"))
    assert rust_target.rust_binary() == (None, rust_target.NO_CARGO_REASON)
    target = rust_target.rust_target()
    assert not target.available and target.reason == rust_target.NO_CARGO_REASON and target.executable == ""


def test_not_built_without_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GILDASH_CACHE_DIR", str(tmp_path / "cache"))
    binary, reason = rust_target.rust_binary(build=False)
    assert binary is None and "not built" in reason
    assert not (tmp_path / "cache" / "rust-target").exists()


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy(REPO / "rust_cpu_bench" / "Cargo.toml", dest / "Cargo.toml")
    shutil.copytree(REPO / "rust_cpu_bench" / "src", dest / "src")
    return dest


@pytest.mark.skipif(rust_target.find_cargo() is None, reason="cargo not installed")
def test_build_failure_gives_cargos_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = copy_project(tmp_path / "rust_cpu_bench")
    main = src / "src" / "main.rs"
    main.write_text(main.read_text() + '\nfn broken() -> u32 { "not a number" }\n')
    monkeypatch.setenv("GILDASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(paths, "rust_src_dir", lambda: src)
    binary, reason = rust_target.rust_binary()
    assert binary is None
    assert reason.startswith("cargo build failed: error") and "\n" not in reason


@pytest.mark.skipif(rust_target.find_cargo() is None, reason="cargo not installed")
def test_bundled_sources_build_in_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A wheel's gildash/_data copy is mirrored to the cache: nothing is written beside the sources."""
    src = copy_project(tmp_path / "site" / "gildash" / "_data" / "rust_cpu_bench")
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    monkeypatch.setenv("GILDASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(paths, "rust_src_dir", lambda: src)
    builds: list[Path] = []
    real_run_cargo = rust_target._run_cargo

    def counting_run_cargo(cargo: str, manifest: Path) -> str | None:
        builds.append(manifest)
        return real_run_cargo(cargo, manifest)

    monkeypatch.setattr(rust_target, "_run_cargo", counting_run_cargo)
    # Two callers at once: the lock makes the second wait and then find the binary fresh.
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: rust_target.rust_binary(), range(2)))
    assert answers[0] == answers[1] and len(builds) == 1
    assert builds[0] == tmp_path / "cache" / "rust-src" / "Cargo.toml"
    binary, reason = answers[0]
    assert binary is not None, reason
    assert binary.is_relative_to(tmp_path / "cache")
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before
    events, code = run(binary, "primes", "--size", "1000")
    assert code == 0 and events[-1]["result"] == 168 and events[-1]["ok"]
    # Fresh now: a second call neither rebuilds nor needs cargo.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "no-cargo-home"))
    assert rust_target.rust_binary() == (binary, "")


def test_engine_module_never_imports_textual() -> None:
    code = "import sys, gildash.engine.rust_target; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_workers_send_their_slices_in_the_run_clock(bench: Path) -> None:
    events, code = run(bench, "primes", "--threads", "2", "--size", "200000")
    assert code == 0
    start = events[0]
    assert start["timeline"]["gap_s"] == 0.0003 and start["timeline"]["check_unit"] == "numbers"
    for worker in (0, 1):
        batches = [e for e in events if e["event"] == "slices" and e["worker"] == worker]
        done = next(e for e in events if e["event"] == "worker_done" and e["worker"] == worker)
        spans = [s for b in batches for s in b["slices"]]
        assert spans and all(b["blocked"] == [] for b in batches)
        assert all(0 <= a < b for a, b in spans) and all(
            x[1] <= y[0] for x, y in zip(spans, spans[1:], strict=False)
        )
        assert start["t"] <= spans[0][0] and spans[-1][1] <= done["t"]
        assert events.index(batches[-1]) < events.index(done)


def test_timeline_can_be_switched_off(bench: Path) -> None:
    proc = subprocess.run(
        [str(bench), "sum_squares", "--threads", "2", "--size", "1000"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"GILDASH_TIMELINE": "0", "PATH": "/usr/bin:/bin"},
    )
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and events[0]["timeline"] is None
    assert not [e for e in events if e["event"] == "slices"]
