"""engine.agent_stream: the host agent's records become the engine's frozen values; every bad record is
rejected on its own (counted) and nothing ever raises. Real agent output is parsed end to end too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gildash.engine.agent_stream import (
    AGENT_SOURCE,
    AgentExit,
    AgentFailed,
    AgentHello,
    AgentProc,
    AgentStarted,
    AgentStderr,
    AgentStream,
    run_command,
    watch_command,
)
from gildash.engine.model import CoreSample, ProcSample

REPO = Path(__file__).resolve().parents[2]
AGENT = REPO / "gildash" / "hostagent.py"


def test_the_agent_source_is_the_packaged_file() -> None:
    assert AGENT_SOURCE == AGENT and AGENT_SOURCE.is_file()


def test_commands_spell_the_agent_s_options() -> None:
    assert watch_command("python3", "/tmp/a.py") == ("python3", "/tmp/a.py", "watch", "--interval", "0.25")
    argv = run_command(
        "python3", "/tmp/a.py", ["py", "--threads", "2"], cwd="/tmp/w", env={"PYTHON_GIL": "0"}, timeout_s=5
    )
    assert argv == (
        "python3", "/tmp/a.py", "run", "--interval", "0.25", "--cwd", "/tmp/w", "--env", "PYTHON_GIL=0",
        "--timeout", "5.0", "--", "py", "--threads", "2",
    )  # fmt: skip


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def line(**fields: Any) -> str:
    return json.dumps(fields)


HELLO = line(agent="hello", version=1, cpu_count=2, python="3.9.18", machine={"logical_cores": 2, "cpus": []})
STARTED = line(agent="started", pid=4242, t=1000.0)
PROC = line(
    agent="proc",
    t=1000.5,
    effective_cores=1.93,
    rss=21_000_000,
    processes=1,
    threads=[[11, 0.97], [12, 0.96]],
    cores=[98.0, 99.5],
)


def test_a_run_s_records_become_engine_values_on_our_clock() -> None:
    clock = FakeClock(50.0)
    stream = AgentStream(clock)
    hello = stream.parse(HELLO)
    assert isinstance(hello, AgentHello) and stream.hello is hello
    assert hello.cpu_count == 2 and hello.python == "3.9.18"
    assert hello.machine is not None and hello.machine.logical_cores == 2
    assert stream.parse(STARTED) == AgentStarted(pid=4242, t=50.0)  # the first time fixes the offset
    clock.now = 99.0  # later arrivals do not move the mapping
    proc = stream.parse(PROC)
    assert proc == AgentProc(
        sample=ProcSample(
            t=0.5,
            effective_cores=1.93,
            thread_util=(0.97, 0.96),
            thread_ids=(11, 12),
            rss_bytes=21_000_000,
            processes=1,
        ),
        cores=CoreSample(t=50.5, percent=(98.0, 99.5)),
    )
    assert stream.parse(line(agent="stderr", line="warning: x")) == AgentStderr("warning: x")
    assert stream.parse(line(agent="exit", returncode=-15, t=1002.0, stopped_by="stop")) == AgentExit(
        returncode=-15, t=52.0, stopped_by="stop"
    )
    assert stream.parse(line(agent="exit", returncode=0, t=1002.0)) == AgentExit(0, 52.0, None)
    assert stream.rejected == 0 and stream.last_reason == ""


def test_watch_cores_and_an_error_record() -> None:
    stream = AgentStream(FakeClock(7.0))
    assert stream.parse(b'{"agent":"cores","t":3.0,"percent":[0,12.5,100]}') == CoreSample(
        t=7.0, percent=(0.0, 12.5, 100.0)
    )
    failed = stream.parse(line(agent="error", message="cannot start\n'x': no such file"))
    assert failed == AgentFailed("cannot start 'x': no such file")


def test_a_proc_record_before_any_started_counts_from_itself() -> None:
    stream = AgentStream(FakeClock(0.0))
    proc = stream.parse(PROC)
    assert isinstance(proc, AgentProc) and proc.sample.t == 0.0


BAD_LINES = [
    "",
    "not json",
    "[1, 2]",
    '{"no": "kind"}',
    line(agent="mystery"),
    line(agent=["proc"]),
    '{"agent":"cores","t":NaN,"percent":[1]}',
    '{"agent":"cores","t":1,"percent":[Infinity]}',
    '{"agent":"cores","t":1,"percent":[1e999]}',
    line(agent="cores", t=1, percent=[101.0]),
    line(agent="cores", t=1, percent=[-0.5]),
    line(agent="cores", t=1, percent="50"),
    line(agent="cores", t=True, percent=[1]),
    line(agent="proc", t=1, effective_cores=-1, rss=0, processes=1, threads=[], cores=[]),
    line(agent="proc", t=1, effective_cores=1, rss=1.5, processes=1, threads=[], cores=[]),
    line(agent="proc", t=1, effective_cores=1, rss=1, processes=True, threads=[], cores=[]),
    line(agent="proc", t=1, effective_cores=1, rss=1, processes=1, threads=[[1, 1.5]], cores=[]),
    line(agent="proc", t=1, effective_cores=1, rss=1, processes=1, threads=[[1]], cores=[]),
    line(
        agent="proc",
        t=1,
        effective_cores=1,
        rss=1,
        processes=1,
        threads=[[i, 0.1] for i in range(65)],
        cores=[],
    ),
    line(agent="proc", t=1, effective_cores=1, rss=1, processes=1, threads=[]),
    line(agent="started", pid=0, t=1),
    line(agent="started", pid="12", t=1),
    line(agent="exit", returncode=0, t=1, stopped_by="boredom"),
    line(agent="exit", returncode=None, t=1),
    line(agent="hello", version=1, cpu_count=0, python="3.9"),
    line(agent="hello", version="1", cpu_count=2, python="3.9"),
    line(agent="stderr", line=42),
    line(agent="error"),
    '{"agent":"proc","rss":' + "9" * 5000 + "}",
    '{"agent":"hello","machine":' + "[" * 100_000 + "]" * 100_000 + "}",
    "[" * 100_000,
    b'{"agent":"stderr","line":"\xff\xfe"',
    "x" * (5 << 20),
]


def test_bad_records_are_rejected_one_by_one_and_a_good_one_still_parses() -> None:
    stream = AgentStream(FakeClock(0.0))
    for n, bad in enumerate(BAD_LINES, start=1):
        assert stream.parse(bad) is None, bad[:80]
        assert stream.rejected == n
        assert stream.last_reason and "\n" not in stream.last_reason and len(stream.last_reason) <= 200
    assert isinstance(stream.parse(STARTED), AgentStarted)
    assert stream.rejected == len(BAD_LINES)


def test_reasons_name_the_problem() -> None:
    stream = AgentStream(FakeClock(0.0))
    stream.parse(line(agent="cores", t=1, percent=[101.0]))
    assert "0..100" in stream.last_reason
    stream.parse(line(agent="started", pid="12", t=1))
    assert "started.pid" in stream.last_reason
    stream.parse(line(agent="mystery"))
    assert "unknown record kind" in stream.last_reason


def test_a_hello_with_odd_machine_facts_keeps_the_rest() -> None:
    stream = AgentStream(FakeClock(0.0))
    hello = stream.parse(line(agent="hello", version=1, cpu_count=64, python="3.12.1", machine="??"))
    assert isinstance(hello, AgentHello) and hello.machine is None and hello.cpu_count == 64
    deep: Any = {}
    for _ in range(200):
        deep = {"x": deep}
    hello = stream.parse(line(agent="hello", version=1, cpu_count=64, python="3.12.1", machine=deep))
    assert isinstance(hello, AgentHello) and hello.machine is not None and hello.machine.logical_cores is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
KINDS = ["hello", "started", "cores", "proc", "stderr", "exit", "error", "other"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_any_line_never_raises(raw: str | bytes) -> None:
    stream = AgentStream(FakeClock(0.0))
    record = stream.parse(raw)
    assert (record is None) == (stream.rejected == 1)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(KINDS),
    st.dictionaries(
        st.sampled_from(
            [
                "t",
                "pid",
                "percent",
                "effective_cores",
                "rss",
                "processes",
                "threads",
                "cores",
                "line",
                "returncode",
                "stopped_by",
                "message",
                "version",
                "cpu_count",
                "python",
                "machine",
            ]
        ),
        json_values,
        max_size=8,
    ),
)
def test_any_record_shaped_object_never_raises(kind: str, fields: dict[str, Any]) -> None:
    stream = AgentStream(FakeClock(0.0))
    raw = json.dumps({"agent": kind, **fields})  # NaN and Infinity included: Python writes them
    record = stream.parse(raw)
    assert (record is None) == (stream.rejected == 1)


def test_real_agent_output_parses_without_a_reject(tmp_path: Path) -> None:
    work = tmp_path / "work.py"
    work.write_text("import sys, time\nprint('oops', file=sys.stderr)\ntime.sleep(0.4)\nsys.exit(4)\n")
    argv = run_command(sys.executable, str(AGENT), [sys.executable, str(work)], interval_s=0.1)
    # stdin stays open until the exit record: its EOF would mean "connection lost"
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    stream = AgentStream()
    records: list[Any] = []
    for raw in proc.stderr:
        records.append(stream.parse(raw))
        if isinstance(records[-1], AgentExit):
            break
    proc.stdin.close()
    assert proc.wait(10) == 0
    assert stream.rejected == 0, stream.last_reason
    kinds = [type(r) for r in records]
    assert kinds[:2] == [AgentHello, AgentStarted] and kinds[-1] is AgentExit
    assert AgentStderr("oops") in records and AgentProc in kinds
    assert records[-1] == AgentExit(4, records[-1].t, None)
    hello = records[0]
    assert isinstance(hello, AgentHello) and hello.machine is not None
    assert hello.machine.logical_cores == os.cpu_count()

    watch_argv = watch_command(sys.executable, str(AGENT), 0.05)
    watch = subprocess.Popen(watch_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    time.sleep(0.5)
    out, _ = watch.communicate(timeout=10)  # closes stdin: the agent ends
    watched = [stream.parse(raw) for raw in out.splitlines()]
    assert stream.rejected == 0, stream.last_reason
    assert isinstance(watched[0], AgentHello) and all(isinstance(r, CoreSample) for r in watched[1:])
    assert len(watched) >= 3
