"""The pure parts of engine.remote and --host: ssh's failures in one line, discovery answers, the bundle."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from gildash.cli import build_parser
from gildash.cli.common import UsageError, host_of
from gildash.cli.python_ft import split_host
from gildash.engine import python_search
from gildash.engine.interpreters import PROBE_SCRIPT
from gildash.engine.model import RunSpec, Target
from gildash.engine.remote import bundle
from gildash.engine.remote.discovery import parse_discovery
from gildash.engine.remote.run import remote_env
from gildash.engine.remote.ssh import SSH_CONFIG_ENV, RemoteError, check_destination, config_args, explain
from gildash.engine.runner import build_argv


@pytest.mark.parametrize(
    ("stderr", "says"),
    [
        ("ssh: Could not resolve hostname nope.invalid: Name or service not known\n", "unknown host 'h'"),
        ("root@127.0.0.1: Permission denied (publickey).\n", "h refused the login"),
        ("Host key verification failed.\n", "host key verification failed"),
        ("ssh: connect to host 10.0.0.1 port 22: Connection refused\n", "connection refused"),
        ("ssh: connect to host 10.0.0.1 port 22: Connection timed out\n", "connection timed out"),
        ("Connection to 10.0.0.1 closed by remote host.\n", "lost the connection to h"),
        ("", "h: ssh exited with 255"),
    ],
)
def test_ssh_failures_are_one_line_naming_the_host(stderr: str, says: str) -> None:
    message = explain(
        "h", "Warning: Permanently added 'x' (ED25519) to the list of known hosts.\n" + stderr, 255
    )
    assert says in message
    assert "\n" not in message and len(message) < 300


def test_a_refused_login_never_suggests_a_password() -> None:
    message = explain("box", "box: Permission denied (publickey,password).", 255)
    assert "never asks for passwords" in message


@pytest.mark.parametrize("bad", ["", "-oProxyCommand=x", "a b", "x" * 300])
def test_a_destination_that_ssh_would_take_as_an_option_is_refused(bad: str) -> None:
    with pytest.raises(RemoteError):
        check_destination(bad)
    assert check_destination("me@box") == "me@box"


def test_gildash_ssh_config_becomes_dash_f(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(SSH_CONFIG_ENV, raising=False)
    assert config_args() == []
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host x\n")
    monkeypatch.setenv(SSH_CONFIG_ENV, str(cfg))
    assert config_args() == ["-F", str(cfg)]
    monkeypatch.setenv(SSH_CONFIG_ENV, str(tmp_path / "missing"))
    with pytest.raises(RemoteError, match="no such file"):
        config_args()


def _probe_out(version: str, ft: bool, exe: str) -> str:
    major, minor, micro = (int(x) for x in version.split("."))
    return json.dumps(
        {
            "gildash_probe": 1,
            "version": version,
            "version_info": [major, minor, micro],
            "implementation": "cpython",
            "free_threaded": ft,
            "gil_enabled": not ft,
            "executable": exe,
        }
    )


def test_discovery_answers_become_ordered_targets_of_the_host() -> None:
    ft, gil = "/c/3.13t/bin/python3.13t", "/usr/bin/python3"

    def seen(path: str, out: str, err: str = "", code: int = 0) -> dict[str, object]:
        return {
            "path": path,
            "source": "cache" if path == ft else "PATH",
            "out": out,
            "err": err,
            "returncode": code,
        }

    answer = {
        "gildash_discovery": 1,
        "probed": [
            seen(gil, _probe_out("3.11.2", False, "/usr/bin/python3.11")),
            seen(ft, _probe_out("3.13.5", True, ft)),
            seen("/opt/py2/bin/python3", "", "SyntaxError", 1),
            {"path": "/slow/python3", "source": "PATH", "error": "/slow/python3: probe timed out after 5 s"},
        ],
        "rust": {"cargo": None},
    }
    targets = parse_discovery("box", json.dumps(answer), rust=True)
    assert [t.id for t in targets] == ["py3.13t", "py3.13t+gil", "rust", "py3.11"]
    assert {t.host for t in targets} == {"box"}
    rust = targets[2]
    assert not rust.available and "host's PATH" in rust.reason
    assert targets[1].env == (("PYTHON_GIL", "1"),)


def test_a_failed_cargo_build_on_the_host_says_why() -> None:
    answer = {
        "gildash_discovery": 1,
        "probed": [],
        "rust": {"cargo": "/c", "returncode": 101, "err": "error: x\n"},
    }
    (rust,) = parse_discovery("box", json.dumps(answer), rust=True)
    assert not rust.available and rust.reason == "cargo build failed: error: x"
    built = {"cargo": "/c", "returncode": 0, "binary": "/b/rust_cpu_bench", "version_out": "x (rustc 1.80.0)"}
    (rust,) = parse_discovery("box", json.dumps({**answer, "rust": built}), rust=True)
    assert rust.available and rust.executable == "/b/rust_cpu_bench" and rust.version == "1.80.0"


@pytest.mark.parametrize(
    "text", ["", "not json", "[]", '{"gildash_discovery": 2}', '{"gildash_discovery": 1}']
)
def test_an_answer_discovery_does_not_give_is_one_remote_error(text: str) -> None:
    with pytest.raises(RemoteError, match="box: target discovery"):
        parse_discovery("box", text, rust=False)


def test_the_probe_is_the_local_one() -> None:
    from gildash.engine.remote.discovery import discovery_argv

    argv = discovery_argv(bundle.Bundle(root="/h/gildash-x", sha256="0"), rust=False)
    assert json.loads(argv[-1])["probe"] == PROBE_SCRIPT


def test_the_bundle_is_the_same_bytes_in_another_second() -> None:
    # gzip stamps the time it wrote into its header (bytes 4-8): a deterministic bundle writes 0 there.
    data, _ = bundle.build_tar()
    assert data[4:8] == b"\0\0\0\0"


def test_the_hosts_interpreter_search_is_bundled_and_runs_on_python_3_9() -> None:
    # The host's discovery imports the bundle's copy of python_search with the host's python3 (3.9+).
    source = Path(python_search.__file__).read_text()
    ast.parse(source, feature_version=(3, 9))
    with tarfile.open(fileobj=io.BytesIO(bundle.build_tar()[0])) as tar:
        assert "py/gildash/engine/python_search.py" in tar.getnames()


def test_the_bundle_is_deterministic_and_holds_what_the_host_needs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data, digest = bundle.build_tar()
    again, digest_again = bundle.build_tar()
    assert data == again and digest == digest_again == hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = set(tar.getnames())
    assert {
        "hostagent.py",
        "workloads/sum_squares.py",
        "workloads/_protocol.py",
        "rust_cpu_bench/Cargo.toml",
    } <= names
    assert {"py/gildash/engine/provision.py", "py/gildash/engine/paths.py"} <= names
    assert not any(n.startswith("/") or ".." in n.split("/") for n in names)


def test_a_host_run_points_at_the_hosts_copy_of_the_workload() -> None:
    target = Target(id="py3.13t", label="x", executable="/h/python3.13t", kind="python", host="box")
    spec = RunSpec(target=target, workload="sum_squares", threads=2)
    argv = build_argv(spec, script_dir="/tmp/gildash-abc/workloads")
    assert argv[:3] == ("/h/python3.13t", "-u", "/tmp/gildash-abc/workloads/sum_squares.py")
    gil = RunSpec(
        target=Target(id="t", label="x", executable="/p", kind="python", env=(("PYTHON_GIL", "1"),)),
        workload="w",
    )
    assert remote_env(gil) == {"PYTHONUNBUFFERED": "1", "PYTHON_GIL": "1"}


def test_host_is_read_before_or_after_the_command() -> None:
    parser = build_parser()
    assert host_of(parser.parse_args(["targets"])) is None
    assert host_of(parser.parse_args(["targets", "--host", "box"])) == "box"
    assert host_of(parser.parse_args(["--host", "box", "run", "sum_squares"])) == "box"
    assert host_of(parser.parse_args(["--host", "box"])) == "box"


def test_python_ft_takes_host_out_of_the_provisioners_arguments() -> None:
    assert split_host(["--host", "box", "--no-build"]) == ("box", ["--no-build"])
    assert split_host(["--host=me@box"]) == ("me@box", [])
    assert split_host(["--no-build"]) == (None, ["--no-build"])
    with pytest.raises(UsageError):
        split_host(["--host"])


def test_recordings_without_a_host_read_as_this_machine() -> None:
    from gildash.engine.recording import target_from_json

    old = {"id": "py3.11", "label": "x", "executable": "/p", "kind": "python"}
    assert target_from_json(old).host is None
    assert target_from_json({**old, "host": "box"}).host == "box"


def test_only_the_control_dirs_of_gone_gildash_processes_are_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from gildash.engine.remote.ssh import remove_stale_control_dirs

    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / f"gildash-ssh-{gone.pid}-abc").mkdir()
    (tmp_path / f"gildash-ssh-{os.getppid()}-abc").mkdir()  # a live process
    (tmp_path / f"gildash-ssh-{os.getpid()}-abc").mkdir()  # ours
    (tmp_path / "gildash-ssh-abc").mkdir()  # not a control directory's name
    (tmp_path / f"other-{gone.pid}-abc").mkdir()
    removed = remove_stale_control_dirs(str(tmp_path))
    assert removed == [str(tmp_path / f"gildash-ssh-{gone.pid}-abc")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            f"gildash-ssh-{os.getppid()}-abc",
            f"gildash-ssh-{os.getpid()}-abc",
            "gildash-ssh-abc",
            f"other-{gone.pid}-abc",
        ]
    )


def test_host_before_a_command_that_runs_here_only_is_one_error(capsys) -> None:  # type: ignore[no-untyped-def]
    from gildash.cli import main

    assert main(["--host", "box", "replay", "nothing.jsonl"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["gildash: error: --host does not apply to replay (it runs on this machine)"]
