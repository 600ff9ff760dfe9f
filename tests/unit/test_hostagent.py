"""The host agent (gildash/hostagent.py) run locally as a subprocess, as ssh would start it on a host:
its records, its stdout pass-through, its stop/EOF/signal handling, and that nothing it started outlives
it (escaped descendants included). Also: it stays Python 3.9 syntax and runs under every interpreter here."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from gildash.engine.machine import MachineFacts, machine_from_dict, read_machine
from gildash.engine.model import StartEvent, SummaryEvent
from gildash.engine.protocol import parse_line

REPO = Path(__file__).resolve().parents[2]
AGENT = REPO / "gildash" / "hostagent.py"
HOSTILE = REPO / "tests" / "fixtures" / "hostile"
WORKLOADS = REPO / "workloads"
GUARD_S = 30.0
"""A broken agent fails the test instead of hanging the suite."""


def _interpreters() -> list[str]:
    """The test interpreter plus every other python3 on this machine the agent must run under (>= 3.9)."""
    found = [sys.executable]
    candidates = ["/usr/bin/python3", str(Path.home() / ".pyenv" / "versions" / "3.9.18" / "bin" / "python3")]
    candidates.append(str(Path.home() / ".cache" / "gildash" / "pythons" / "3.13t" / "bin" / "python3.13t"))
    seen = {_version(sys.executable)}
    for path in candidates:
        version = _version(path) if os.access(path, os.X_OK) else None
        if version is not None and version not in seen:
            seen.add(version)
            found.append(path)
    return found


PROBE = "import sys, sysconfig; print(sys.version, sysconfig.get_config_var('Py_GIL_DISABLED'))"


def _version(python: str) -> str | None:
    try:
        out = subprocess.run(
            [python, "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class Agent:
    """A running agent: its stdout bytes and stderr lines collected by threads, stdin ours to write/close."""

    def __init__(self, *args: str, python: str = sys.executable) -> None:
        self.proc = subprocess.Popen(
            [python, str(AGENT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out = bytearray()
        self.err_lines: list[bytes] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(65536):
            with self._lock:
                self.out += chunk

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.err_lines.append(line)

    def out_records(self) -> list[dict[str, Any]]:
        """stdout lines as JSON (watch mode, or a workload's protocol lines in run mode)."""
        with self._lock:
            text = bytes(self.out).decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """stderr records (run mode), optionally of one kind; every stderr line must be a record."""
        with self._lock:
            lines = list(self.err_lines)
        out = [json.loads(line) for line in lines]
        assert all(isinstance(r, dict) and "agent" in r for r in out), lines
        return [r for r in out if kind is None or r["agent"] == kind]

    def wait_for(self, what: Any, timeout: float = 10.0) -> Any:
        """Poll what() until it returns something truthy; fail after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            time.sleep(0.02)
        tail = bytes(self.out[-300:])
        raise AssertionError(f"timed out; stderr so far: {self.err_lines[-5:]!r}, stdout: {tail!r}")

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def finish(self, timeout: float = GUARD_S) -> int:
        """The agent's exit status once it ended and its output was read to the end."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for reader in self._readers:
            reader.join(5)
        return rc

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def agents() -> Any:
    """Agents started by a test; any still running at its end is killed."""
    started: list[Agent] = []

    def start(*args: str, python: str = sys.executable) -> Agent:
        agent = Agent(*args, python=python)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        if agent.proc.poll() is None:
            agent.kill()


def gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting for its reaper)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def assert_all_gone(pids: set[int], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.05)
    left = sorted(p for p in pids if not gone(p))
    for pid in left:  # test hygiene: never leave them behind
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert not left, f"processes outlived the agent: {left}"


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "work.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


# --- syntax and interpreters -------------------------------------------------------------------------


def test_the_agent_is_python_39_syntax() -> None:
    ast.parse(AGENT.read_text(), feature_version=(3, 9))


def test_the_agent_imports_only_the_standard_library() -> None:
    tree = ast.parse(AGENT.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)


@pytest.mark.slow
@pytest.mark.parametrize("python", _interpreters())
def test_watch_says_hello_then_streams_cores_and_ends_on_eof(agents: Any, python: str) -> None:
    agent = agents("watch", "--interval", "0.1", python=python)
    records = agent.wait_for(lambda: len(agent.out_records()) >= 3 and agent.out_records(), timeout=20)
    hello, cores = records[0], records[1:]
    assert hello["agent"] == "hello" and hello["version"] == 1
    assert hello["cpu_count"] == os.cpu_count()
    assert isinstance(hello["python"], str) and hello["python"].count(".") == 2
    assert all(r["agent"] == "cores" for r in cores)
    for record in cores:
        assert len(record["percent"]) == os.cpu_count()
        assert all(0.0 <= p <= 100.0 for p in record["percent"])
    assert cores[1]["t"] > cores[0]["t"]
    agent.close_stdin()
    assert agent.finish(timeout=5) == 0
    assert agent.records() == []  # nothing on stderr


@pytest.mark.slow
def test_watch_ends_when_its_reader_goes_away() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(AGENT), "watch", "--interval", "0.05"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert b'"agent":"hello"' in proc.stdout.readline()
        proc.stdout.close()  # the connection is gone, stdin still open
        assert proc.wait(5) == 0
        assert proc.stderr.read() == b""  # no traceback
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_hello_machine_facts_are_the_engine_s_machine_facts(agents: Any) -> None:
    agent = agents("watch")
    hello = agent.wait_for(lambda: agent.out_records()[:1])[0]
    agent.close_stdin()
    assert agent.finish(timeout=5) == 0
    machine = hello["machine"]
    assert set(machine) == {f.name for f in dataclasses.fields(MachineFacts)}
    facts, local = machine_from_dict(machine), read_machine()
    assert facts is not None
    for name in ("logical_cores", "physical_cores", "smt_per_core", "usable_cpus", "cpu_model", "os"):
        assert getattr(facts, name) == getattr(local, name), name
    no_clock = [dataclasses.replace(c, current_mhz=None) for c in facts.cpus]
    assert no_clock == [dataclasses.replace(c, current_mhz=None) for c in local.cpus]
    assert facts.python == local.python


# --- run ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("python", _interpreters())
def test_run_passes_stdout_through_byte_for_byte(agents: Any, tmp_path: Path, python: str) -> None:
    payload = b'{"event":"x"}\n\xff\xfe not utf-8\n' + b"y" * 100_000 + b"\nno newline at the end"
    work = script(tmp_path, f"import sys; sys.stdout.buffer.write({payload!r}); sys.exit(3)")
    agent = agents("run", "--", python, work, python=python)
    agent.wait_for(lambda: agent.records("exit"))
    agent.close_stdin()
    assert agent.finish() == 0
    assert bytes(agent.out) == payload
    (exit_record,) = agent.records("exit")
    assert exit_record["returncode"] == 3 and exit_record["stopped_by"] is None
    kinds = [r["agent"] for r in agent.records()]
    assert kinds[:2] == ["hello", "started"] and kinds[-1] == "exit"


@pytest.mark.slow
def test_run_streams_proc_records_of_a_real_workload(agents: Any) -> None:
    argv = [sys.executable, str(WORKLOADS / "sum_squares.py"), "--threads", "2", "--size", "6000000"]
    agent = agents("run", "--interval", "0.1", "--", *argv)
    agent.wait_for(lambda: agent.records("exit"), timeout=GUARD_S)
    agent.close_stdin()
    assert agent.finish() == 0
    (started,) = agent.records("started")
    (exit_record,) = agent.records("exit")
    assert exit_record["returncode"] == 0
    events = [parse_line(line) for line in bytes(agent.out).splitlines()]
    assert isinstance(events[0], StartEvent) and events[0].pid == started["pid"]
    assert isinstance(events[-1], SummaryEvent) and events[-1].ok
    procs = agent.records("proc")
    assert len(procs) >= 3, procs
    for record in procs:
        assert record["processes"] >= 1 and record["rss"] > 1_000_000
        assert len(record["cores"]) == os.cpu_count()
        assert record["effective_cores"] >= 0.0
        assert [tid for tid, _ in record["threads"]] == sorted(tid for tid, _ in record["threads"])
        assert all(0.0 <= util <= 1.0 for _, util in record["threads"])
    assert max(r["effective_cores"] for r in procs) > 0.3  # the workload burns CPU
    busy = [r for r in procs if len(r["threads"]) >= 2]
    assert busy, "the two worker threads show as thread lanes"
    assert started["t"] < procs[0]["t"] < exit_record["t"]


@pytest.mark.slow
def test_stderr_lines_are_wrapped_and_cut(agents: Any, tmp_path: Path) -> None:
    work = script(
        tmp_path,
        """
        import sys
        sys.stderr.write("first line\\n" + "é" * 10000 + "\\nlast, unterminated")
        """,
    )
    agent = agents("run", "--", sys.executable, work)
    agent.wait_for(lambda: agent.records("exit"))
    agent.close_stdin()
    assert agent.finish() == 0
    lines = [r["line"] for r in agent.records("stderr")]
    assert lines == ["first line", "é" * 4096, "last, unterminated"]
    assert bytes(agent.out) == b""


@pytest.mark.slow
def test_stop_on_stdin_terminates_the_workload(agents: Any) -> None:
    agent = agents("run", "--", sys.executable, str(HOSTILE / "sleep_forever.py"))
    (started,) = agent.wait_for(lambda: agent.records("started"))
    time.sleep(0.3)
    t0 = time.monotonic()
    agent.send(b"stop\n")
    (exit_record,) = agent.wait_for(lambda: agent.records("exit"), timeout=5)
    assert time.monotonic() - t0 < 3.0
    assert exit_record["returncode"] == -signal.SIGTERM and exit_record["stopped_by"] == "stop"
    assert agent.finish(timeout=5) == 0
    assert_all_gone({started["pid"]}, within=1.0)


@pytest.mark.slow
def test_stop_kills_a_workload_that_ignores_sigterm_two_seconds_later(agents: Any) -> None:
    agent = agents("run", "--", sys.executable, str(HOSTILE / "ignore_sigterm.py"))
    (started,) = agent.wait_for(lambda: agent.records("started"))
    agent.wait_for(lambda: b"progress" in agent.out)  # it has set its handler
    t0 = time.monotonic()
    agent.send(b"stop\n")
    (exit_record,) = agent.wait_for(lambda: agent.records("exit"), timeout=6)
    took = time.monotonic() - t0
    assert 1.5 < took < 4.0, took
    assert exit_record["returncode"] == -signal.SIGKILL and exit_record["stopped_by"] == "stop"
    assert agent.finish(timeout=5) == 0
    assert_all_gone({started["pid"]}, within=1.0)


@pytest.mark.slow
def test_timeout_ends_the_run(agents: Any) -> None:
    agent = agents("run", "--timeout", "0.5", "--", sys.executable, str(HOSTILE / "sleep_forever.py"))
    (exit_record,) = agent.wait_for(lambda: agent.records("exit"), timeout=5)
    assert exit_record["stopped_by"] == "timeout" and exit_record["returncode"] == -signal.SIGTERM
    agent.close_stdin()
    assert agent.finish(timeout=5) == 0


def _reported_children(agent: Agent) -> set[int]:
    """The pids a hostile fixture reported in its start line (passed through on the agent's stdout)."""
    start = agent.wait_for(lambda: [r for r in agent.out_records() if r.get("event") == "start"])[0]
    children = start["children"]
    pids: set[int] = set()
    for value in children.values():
        pids |= set(value) if isinstance(value, list) else {value}
    return pids


@pytest.mark.slow
@pytest.mark.parametrize("python", _interpreters())
def test_eof_kills_the_workload_and_a_double_forked_escapee(agents: Any, python: str) -> None:
    fixture = str(HOSTILE / "detached_holder.py")
    agent = agents("run", "--", python, fixture, "--mode", "double", "--hang", python=python)
    (started,) = agent.wait_for(lambda: agent.records("started"))
    pids = {started["pid"]} | _reported_children(agent)
    assert len(pids) == 2 and not any(gone(p) for p in pids)
    agent.close_stdin()  # the ssh connection is gone
    assert_all_gone(pids, within=5.0)
    assert agent.finish(timeout=5) == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_agent_kills_pool_grandchildren_and_a_new_session(agents: Any, sig: int) -> None:
    agent = agents("run", "--", sys.executable, str(HOSTILE / "spawn_tree.py"), "--threads", "2")
    (started,) = agent.wait_for(lambda: agent.records("started"))
    pids = {started["pid"]} | _reported_children(agent)
    assert len(pids) >= 5, pids  # the workload, 2 pool workers, 2 grandchildren, 1 detached sleep
    os.kill(agent.proc.pid, sig)
    assert_all_gone(pids, within=5.0)
    assert agent.finish(timeout=5) == 0


@pytest.mark.slow
def test_a_stopped_escapee_dies_too(agents: Any) -> None:
    fixture = str(HOSTILE / "detached_holder.py")
    agent = agents("run", "--", sys.executable, fixture, "--mode", "session", "--hang")
    (started,) = agent.wait_for(lambda: agent.records("started"))
    pids = {started["pid"]} | _reported_children(agent)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    agent.close_stdin()
    assert_all_gone(pids, within=5.0)
    assert agent.finish(timeout=5) == 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["session", "double"])
def test_an_escapee_holding_the_pipes_neither_holds_the_run_nor_outlives_it(agents: Any, mode: str) -> None:
    agent = agents("run", "--", sys.executable, str(HOSTILE / "detached_holder.py"), "--mode", mode)
    t0 = time.monotonic()
    (started,) = agent.wait_for(lambda: agent.records("started"))
    pids = {started["pid"]} | _reported_children(agent)
    (exit_record,) = agent.wait_for(lambda: agent.records("exit"), timeout=10)
    assert time.monotonic() - t0 < 4.0  # not the escapee's 60 s
    assert exit_record["returncode"] == 0
    assert_all_gone(pids, within=1.0)
    agent.close_stdin()
    assert agent.finish(timeout=5) == 0
    assert b'"event": "summary"' in bytes(agent.out)  # what the pipes held was delivered


# --- failures are one record, exit 2 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "--", "/nonexistent/program"), "cannot start '/nonexistent/program'"),
        (("run",), "no command"),
        (("sing",), "invalid choice"),
        (("watch", "--interval", "0"), "--interval"),
        (("run", "--env", "novalue", "--", "true"), "--env"),
    ],
)
def test_a_bad_invocation_is_one_error_record_and_exit_2(
    agents: Any, args: tuple[str, ...], words: str
) -> None:
    agent = agents(*args)
    assert agent.finish(timeout=GUARD_S) == 2
    errors = agent.records("error")
    assert len(errors) == 1 and words in errors[0]["message"], agent.err_lines
    assert b"Traceback" not in b"".join(agent.err_lines)
    assert [r["agent"] for r in agent.records()][-1] == "error"


@pytest.mark.slow
def test_env_and_cwd_reach_the_workload(agents: Any, tmp_path: Path) -> None:
    work = script(tmp_path, "import os; print(os.getcwd(), os.environ['GREETING'])")
    agent = agents("run", "--cwd", str(tmp_path), "--env", "GREETING=hi=there", "--", sys.executable, work)
    agent.wait_for(lambda: agent.records("exit"))
    agent.close_stdin()
    assert agent.finish() == 0
    assert bytes(agent.out).decode().split() == [str(tmp_path), "hi=there"]


# --- cost, as behaviour: the process table is walked only when a process may have been created --------


def test_the_process_table_is_walked_only_when_a_pid_was_created(monkeypatch: pytest.MonkeyPatch) -> None:
    from gildash import hostagent

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        last_pid = [1000]
        walks: list[str] = []
        real_listdir = os.listdir

        me = threading.get_ident()

        def listdir(path: str) -> list[str]:
            # os.listdir is patched process-wide: a psutil thread left by an earlier test lists /proc too.
            if path == hostagent.PROC and threading.get_ident() == me:
                walks.append(path)
            return real_listdir(path)

        monkeypatch.setattr(hostagent, "_last_pid", lambda: last_pid[0])
        monkeypatch.setattr(hostagent.os, "listdir", listdir)
        tree = hostagent.Tree(child.pid)
        # In-process, "the agent's children" would be pytest's: a session-scoped sshd among them.
        tree.me = -1
        tree.refresh(force=True)
        assert list(tree.members) == [child.pid] and len(walks) == 1
        for _ in range(3):
            tree.refresh()
        assert len(walks) == 1  # nothing was created: the known tree is trusted
        last_pid[0] += 1
        tree.refresh()
        assert len(walks) == 2
        sample = hostagent.TreeSampler(tree).sample()
        assert sample["processes"] == 1 and sample["rss"] > 0 and len(walks) == 2
    finally:
        child.kill()
        child.wait()
