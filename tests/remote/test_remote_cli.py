"""gildash --host against a real sshd on the loopback address (the host is this machine).

Behaviour only: what is listed, that a run is ok and carries the host's facts, one line and exit 2 for
every remote failure, nothing left on the host (no workload after kill -9, no private directory after a
session). Speed figures for --host belong in scripts, not here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from remote_support import LoopbackSsh

pytestmark = pytest.mark.slow

TMP = Path(tempfile.gettempdir())
"""The host's temporary directory (the host is this machine; its login shell sets no TMPDIR)."""


def _env(ssh: LoopbackSsh, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GILDASH_SSH_CONFIG"] = str(ssh.ssh_config)
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # recordings of these runs stay in the test's folder
    env.pop("GILDASH_CACHE_DIR", None)
    return env


def _host_run(ssh: LoopbackSsh, size: str, record: Path | None = None) -> tuple[str, ...]:
    """`gildash run` arguments: sum_squares on the host's py3.13t, 2 threads (recorded to `record`)."""
    where = ("--host", ssh.alias, "--target", "py3.13t")
    recording = ("--record", str(record)) if record is not None else ()
    return ("run", "sum_squares", *where, "--threads", "2", "--size", size, *recording)


def _host_workloads(gildash: subprocess.Popen[Any], before: set[str]) -> list[psutil.Process]:
    """The workload processes of the host run `gildash` started (waits up to 120 s; [] if none came)."""
    workloads: list[psutil.Process] = []
    deadline = time.monotonic() + 120
    while not workloads and time.monotonic() < deadline and gildash.poll() is None:
        time.sleep(0.2)
        workloads = _workloads_of(_session_dirs() - before)
    return workloads


def _gildash(
    ssh: LoopbackSsh, tmp_path: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gildash", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(ssh, tmp_path),
        stdin=subprocess.DEVNULL,
    )


def _session_dirs() -> set[str]:
    """The host's gildash session directories (made by the link's guard with mkdtemp)."""
    return {p.name for p in TMP.glob("gildash-*") if p.name.count("-") == 1 and p.is_dir()}


def _workloads_of(dirs: set[str]) -> list[psutil.Process]:
    """Processes on the host running a workload script out of one of these session directories (not the
    agent: its watch reads the host's facts while the session opens, before any run)."""
    scripts = tuple(str(TMP / d / "workloads") + "/" for d in dirs)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if scripts and any(arg.startswith(scripts) for arg in cmdline[1:3]):
            found.append(proc)
    return found


def _ssh_clients_of(ssh: LoopbackSsh) -> list[int]:
    """Local ssh clients still using the test's ssh_config (the session's master and its commands)."""
    config = str(ssh.ssh_config)
    return [p.pid for p in psutil.process_iter(["cmdline"]) if config in (p.info["cmdline"] or [])]


def test_targets_lists_the_hosts_free_threaded_python(
    loopback_ssh: LoopbackSsh, tmp_path: Path, ft_python: str
) -> None:
    before = _session_dirs()
    proc = _gildash(loopback_ssh, tmp_path, "targets", "--host", loopback_ssh.alias, "--json")
    assert proc.returncode == 0, proc.stderr
    targets = json.loads(proc.stdout)
    assert all(t["host"] == loopback_ssh.alias for t in targets)
    free = [t for t in targets if t["free_threaded"] and not t["gil_enabled"] and t["available"]]
    assert free, [t["id"] for t in targets]
    assert os.path.realpath(ft_python) in {os.path.realpath(t["executable"]) for t in free}
    assert any(t["id"].endswith("+gil") for t in targets)  # its GIL-forced twin, as discovered locally
    assert _session_dirs() - before == set()  # the session's private directory is gone


def test_run_on_the_host_is_ok_and_records_the_hosts_facts(
    loopback_ssh: LoopbackSsh, tmp_path: Path, ft_python: str
) -> None:
    before = _session_dirs()
    record = tmp_path / "remote.jsonl"
    proc = _gildash(loopback_ssh, tmp_path, *_host_run(loopback_ssh, "200000", record), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "ok"
    assert result["threads"] == 2
    assert result["target"]["host"] == loopback_ssh.alias
    assert result["gil_enabled_start"] is False
    assert result["effective_cores"] is not None
    assert result["machine"]["logical_cores"] == os.cpu_count()  # the host's facts (it is this machine)
    kinds = [json.loads(line).get("kind") for line in record.read_text().splitlines()[1:]]
    assert kinds[0] == "run_start" and kinds[-1] == "result"
    assert "line" in kinds
    assert _session_dirs() - before == set()
    assert not _ssh_clients_of(loopback_ssh)


@pytest.mark.parametrize("which", ["refused_alias", "unknown_alias", "no_python_alias"])
@pytest.mark.parametrize(
    "command", [[], ["targets"], ["machine"], ["run", "sum_squares"], ["sweep", "sum_squares"]]
)
def test_a_host_that_cannot_be_reached_is_one_line_and_exit_2(
    loopback_ssh: LoopbackSsh, tmp_path: Path, which: str, command: list[str]
) -> None:
    host = getattr(loopback_ssh, which)
    proc = _gildash(loopback_ssh, tmp_path, *command, "--host", host, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gildash: error: ")
    says = {
        "refused_alias": "refused the login",
        "unknown_alias": "unknown host",
        "no_python_alias": "no python3",
    }
    assert says[which] in lines[0]
    assert "Traceback" not in proc.stderr


def test_python_ft_on_the_host_finds_its_build(
    loopback_ssh: LoopbackSsh, tmp_path: Path, ft_python: str
) -> None:
    proc = _gildash(loopback_ssh, tmp_path, "python-ft", "--host", loopback_ssh.alias, "--no-build")
    assert proc.returncode == 0, proc.stderr
    assert os.path.realpath(proc.stdout.strip()) == os.path.realpath(ft_python)


def test_kill_9_of_gildash_leaves_no_workload_on_the_host(
    loopback_ssh: LoopbackSsh, tmp_path: Path, ft_python: str
) -> None:
    before = _session_dirs()
    gildash = subprocess.Popen(
        [sys.executable, "-m", "gildash", *_host_run(loopback_ssh, "2000000000", tmp_path / "killed.jsonl")],
        env=_env(loopback_ssh, tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workloads = _host_workloads(gildash, before)
        assert workloads, "the workload never started on the host"
        gildash.send_signal(signal.SIGKILL)
        gildash.wait()
        gone, alive = psutil.wait_procs(workloads, timeout=5)
        assert not alive, [p.pid for p in alive]
    finally:
        if gildash.poll() is None:
            gildash.kill()
            gildash.wait()
    # The agent, the guard (it removes the private directory) and the ssh clients end once their stdin
    # reaches EOF, a moment after the kill.
    deadline = time.monotonic() + 10
    while (_session_dirs() - before or _ssh_clients_of(loopback_ssh)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_dirs() - before == set()
    assert not _ssh_clients_of(loopback_ssh)
    # The killed gildash's local control directory goes with the next session.
    assert _gildash(loopback_ssh, tmp_path, "targets", "--host", loopback_ssh.alias).returncode == 0
    assert not list(TMP.glob(f"gildash-ssh-{gildash.pid}-*"))


def test_ctrl_c_stops_the_host_run_and_exits_130(
    loopback_ssh: LoopbackSsh, tmp_path: Path, ft_python: str
) -> None:
    before = _session_dirs()
    gildash = subprocess.Popen(
        [sys.executable, "-m", "gildash", *_host_run(loopback_ssh, "2000000000"), "--json"],
        env=_env(loopback_ssh, tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workloads = _host_workloads(gildash, before)
        assert workloads, "the workload never started on the host"
        gildash.send_signal(signal.SIGINT)
        out, err = gildash.communicate(timeout=30)
    finally:
        if gildash.poll() is None:
            gildash.kill()
            gildash.wait()
    assert gildash.returncode == 130, err
    assert out, err
    assert json.loads(out)["status"] == "stopped"
    assert not [p for p in workloads if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert _session_dirs() - before == set()


def test_sweep_on_the_host(loopback_ssh: LoopbackSsh, tmp_path: Path, ft_python: str) -> None:
    proc = _gildash(
        loopback_ssh,
        tmp_path,
        "sweep",
        "sum_squares",
        "--host",
        loopback_ssh.alias,
        "--targets",
        "py3.13t",
        "--threads",
        "1,2",
        "--repeat",
        "1",
        "--size",
        "200000",
        "--json",
        "--record",
        str(tmp_path / "sweep.jsonl"),
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)["runs"]
    assert sorted(r["threads"] for r in runs) == [1, 2]
    assert all(r["status"] == "ok" for r in runs)
    records = [json.loads(line) for line in (tmp_path / "sweep.jsonl").read_text().splitlines()[1:]]
    results = [r["result"] for r in records if r.get("kind") == "result"]
    assert len(results) == 2
    assert all(r["target"]["host"] == loopback_ssh.alias for r in results)
    assert all(r["machine"]["logical_cores"] == os.cpu_count() for r in results)


def test_without_target_a_host_run_uses_its_first_gil_python(
    loopback_ssh: LoopbackSsh, tmp_path: Path
) -> None:
    argv = ["run", "sum_squares", "--host", loopback_ssh.alias, "--threads", "1", "--size", "1000", "--json"]
    proc = _gildash(loopback_ssh, tmp_path, *argv)
    assert proc.returncode == 0, proc.stderr
    target = json.loads(proc.stdout)["target"]
    assert target["free_threaded"] is False and target["host"] == loopback_ssh.alias


def test_machine_on_the_host(loopback_ssh: LoopbackSsh, tmp_path: Path) -> None:
    proc = _gildash(loopback_ssh, tmp_path, "machine", "--host", loopback_ssh.alias, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["logical_cores"] == os.cpu_count()
