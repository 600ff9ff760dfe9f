"""Bad user input and security through the CLI: one `gildash: error:` line, exit 2, never a traceback;
no shell, no config from the cwd, no silent overwrite."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from reliability_support import cli_env, gildash, hostile_path, one_error_line

PY2 = Path("/root/.pyenv/versions/2.7.18/bin/python2.7")


@pytest.fixture
def plain_file(tmp_path: Path) -> Path:
    """A readable, non-executable file (we run as root, so chmod 000 would not stop us reading it)."""
    path = tmp_path / "not_executable.py"
    path.write_text("print('hi')\n")
    path.chmod(0o644)
    return path


CASES: list[tuple[str, list[str], str]] = [
    ("unknown workload", ["run", "no_such_workload"], "unknown workload"),
    ("unknown target", ["run", "sum_squares", "--target", "py9.99"], "unknown target"),
    ("missing target path", ["run", "sum_squares", "--target", "/no/such/python3"], "/no/such/python3"),
    ("not python", ["run", "sum_squares", "--target", "/bin/true"], "/bin/true"),
    ("target is a directory", ["run", "sum_squares", "--target", "/tmp"], "/tmp"),
    ("threads 0", ["run", "sum_squares", "--threads", "0"], "between 1 and"),
    ("threads -1", ["run", "sum_squares", "--threads", "-1"], "between 1 and"),
    ("threads 100000", ["run", "sum_squares", "--threads", "100000"], "between 1 and"),
    ("threads text", ["run", "sum_squares", "--threads", "many"], "invalid thread count"),
    ("size 0", ["run", "sum_squares", "--size", "0"], "at least 1"),
    ("size -5", ["run", "sum_squares", "--size", "-5"], "at least 1"),
    ("timeout 0", ["run", "sum_squares", "--timeout", "0"], "positive"),
    ("timeout nan", ["run", "sum_squares", "--timeout", "nan"], "positive"),
    ("cmd missing program", ["run", "--cmd", "/no/such/program {threads}"], "/no/such/program"),
    ("cmd directory", ["run", "--cmd", "/tmp --threads {threads}"], "/tmp"),
    ("cmd empty", ["run", "--cmd", ""], "empty"),
    ("cmd unbalanced quote", ["run", "--cmd", "echo 'oops"], "cannot split"),
    ("cmd size without --size", ["run", "--cmd", "{python} x.py --size {size}"], "size"),
    ("sweep threads 0", ["sweep", "sum_squares", "--threads", "0"], "1"),
    ("sweep unknown workload", ["sweep", "nope"], "nope"),
    ("export missing file", ["export", "/no/such.jsonl"], "/no/such.jsonl"),
    ("export directory", ["export", "/tmp"], "/tmp"),
    ("replay directory", ["replay", "/tmp"], "/tmp"),
    ("record into a directory", ["run", "sum_squares", "--size", "1", "--record", "/tmp"], "/tmp"),
    ("switch interval 0", ["run", "sum_squares", "--switch-interval", "0"], "(0, 1]"),
    ("switch interval 5", ["sweep", "sum_squares", "--switch-interval", "5"], "(0, 1]"),
    (
        "switch interval text",
        ["run", "sum_squares", "--switch-interval", "fast"],
        "invalid number of seconds",
    ),
    ("switch interval --cmd", ["run", "--cmd", "/bin/true {threads}", "--switch-interval", "0.01"], "custom"),
    ("replay speed 0", ["replay", "/tmp", "--speed", "0"], "--speed must be a factor > 0"),
    ("replay speed -1", ["replay", "/tmp", "--speed", "-1"], "--speed must be a factor > 0"),
    ("export unknown format", ["export", "/tmp", "--format", "svg"], "invalid choice"),
]


@pytest.mark.parametrize(("what", "argv", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, what: str, argv: list[str], words: str) -> None:
    line = one_error_line(gildash(*argv, env=cli_env(tmp_path)))
    assert words in line, line


def test_non_executable_file_as_target_and_as_command(tmp_path: Path, plain_file: Path) -> None:
    line = one_error_line(gildash("run", "sum_squares", "--target", str(plain_file), env=cli_env(tmp_path)))
    assert str(plain_file) in line
    line = one_error_line(gildash("run", "--cmd", f"{plain_file} {{threads}}", env=cli_env(tmp_path)))
    assert "not executable" in line and str(plain_file) in line


def test_python2_is_refused(tmp_path: Path) -> None:
    if not PY2.exists():
        pytest.skip("no Python 2.7 here")
    line = one_error_line(gildash("run", "sum_squares", "--target", str(PY2), env=cli_env(tmp_path)))
    assert str(PY2) in line or "2.7" in line


def test_hostile_fixture_is_not_a_target(tmp_path: Path) -> None:
    # A Python *script* is not an interpreter: pointing --target at one must be refused, not executed.
    line = one_error_line(
        gildash("run", "sum_squares", "--target", str(hostile_path("sleep_forever")), env=cli_env(tmp_path))
    )
    assert "sleep_forever" in line


# --- security -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{python} -c pass ; touch {m}",
        "{python} -c pass && touch {m}",
        "{python} -c pass | touch {m}",
        "{python} -c pass $(touch {m})",
        "{python} -c pass `touch {m}`",
        "echo {threads}; touch {m}",
    ],
)
def test_cmd_never_goes_through_a_shell(tmp_path: Path, template: str) -> None:
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    cmd = template.replace("{m}", str(marker))
    proc = gildash("run", "--cmd", cmd, "--json", "--no-noise-check", env=cli_env(tmp_path))
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1, 2)
    assert not marker.exists(), f"{cmd!r} ran through a shell"


FAKE_INTERPRETER = """#!/bin/sh
touch {marker}
echo '{{"version": "3.99.0", "implementation": "cpython", "free_threaded": false, "gil_enabled": true}}'
"""


def test_config_in_the_cwd_is_never_read(tmp_path: Path) -> None:
    marker = tmp_path / "fake-interpreter-ran"
    fake = tmp_path / "python3.99"
    fake.write_text(FAKE_INTERPRETER.format(marker=marker))
    fake.chmod(0o755)
    cwd = tmp_path / "a-repo-you-cd-into"
    cwd.mkdir()
    entry = f'[[targets]]\nid = "evil"\npath = "{fake}"\n'
    for name in ("config.toml", "gildash.toml", ".gildash.toml"):
        (cwd / name).write_text(entry)
    (cwd / ".config" / "gildash").mkdir(parents=True)
    (cwd / ".config" / "gildash" / "config.toml").write_text(entry)
    env = cli_env(tmp_path)  # XDG_CONFIG_HOME is an empty dir elsewhere
    for argv in (["targets", "--json"], ["run", "sum_squares", "--target", "evil", "--size", "1"]):
        proc = gildash(*argv, env=env, cwd=cwd)
        assert "Traceback" not in proc.stderr
        assert "evil" not in proc.stdout
        assert not marker.exists(), f"gildash {' '.join(argv)} executed a config found in the cwd"


def test_config_is_read_from_the_user_config_dir(tmp_path: Path) -> None:
    # The counterpart: the same entry in $XDG_CONFIG_HOME/gildash is honoured (so the test above is real).
    marker = tmp_path / "fake-interpreter-ran"
    fake = tmp_path / "python3.99"
    fake.write_text(FAKE_INTERPRETER.format(marker=marker))
    fake.chmod(0o755)
    config_dir = tmp_path / "xdg-config" / "gildash"
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(f'[[targets]]\nid = "mine"\npath = "{fake}"\n')
    proc = gildash("targets", "--json", env=cli_env(tmp_path))
    assert proc.returncode == 0 and '"mine"' in proc.stdout
    assert marker.exists()


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "r.jsonl"
    proc = gildash(
        "run", "--cmd", f"{sys.executable} {hostile_path('non_json')} --threads {{threads}}", "--json",
        "--no-noise-check", "--record", str(path), env=cli_env(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.mark.parametrize("fmt", ["csv", "md", "json"])
def test_export_never_overwrites_without_force(tmp_path: Path, recording: Path, fmt: str) -> None:
    out = tmp_path / f"precious.{fmt}"
    out.write_text("precious\n")
    line = one_error_line(
        gildash("export", str(recording), "--format", fmt, "--output", str(out), env=cli_env(tmp_path))
    )
    assert "already exists" in line and "--force" in line
    assert out.read_text() == "precious\n"
    forced = gildash(
        "export", str(recording), "--format", fmt, "--output", str(out), "--force", env=cli_env(tmp_path)
    )
    assert forced.returncode == 0 and out.read_text() != "precious\n"


def test_recording_never_overwrites_a_foreign_file(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("my notes\n")
    line = one_error_line(
        gildash("run", "sum_squares", "--size", "1", "--record", str(precious), env=cli_env(tmp_path))
    )
    assert "refusing" in line
    assert precious.read_text() == "my notes\n"


def test_environment_secrets_do_not_reach_the_workload(tmp_path: Path) -> None:
    # Subprocess hygiene: an allow-listed environment, so a token in the user's shell stays there.
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    code = "import os, json; print(json.dumps({'event': 'error', 'message': repr(sorted(os.environ))}))"
    proc = gildash(
        "run", "--cmd", f"{{python}} -c \"{code}\"", "--json", "--no-noise-check",
        env=cli_env(tmp_path, GILDASH_TEST_SECRET=secret, AWS_SECRET_ACCESS_KEY=secret),
    )  # fmt: skip
    assert "Traceback" not in proc.stderr
    assert "PATH" in proc.stdout and secret not in proc.stdout and "GILDASH_TEST_SECRET" not in proc.stdout
    assert os.environ.get("GILDASH_TEST_SECRET") is None
