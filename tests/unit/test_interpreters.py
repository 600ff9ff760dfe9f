"""interpreters: probing real and fake executables, discovery on a fake PATH, config, resolve_target."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from gildash.engine.config import ConfigError, load_config
from gildash.engine.interpreters import (
    ProbeResult,
    TargetError,
    clear_probe_cache,
    discover_targets,
    gil_twin,
    probe,
    resolve_target,
)

PY2 = Path("/root/.pyenv/versions/2.7.18/bin/python2.7")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No pyenv, no cache, no config, no uv: only what the test puts on its fake PATH."""
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("GILDASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    clear_probe_cache()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    return bindir


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_probe_current_interpreter() -> None:
    res = probe(sys.executable)
    assert isinstance(res, ProbeResult)
    assert res.version == ".".join(map(str, sys.version_info[:3]))
    assert res.implementation == "cpython" and res.gil_enabled and not res.free_threaded


@pytest.mark.parametrize("exe", ["/bin/true", "/bin/echo"])
def test_probe_non_python(exe: str) -> None:
    res = probe(exe)
    assert isinstance(res, str) and "not a Python interpreter" in res


def test_probe_missing_and_not_executable(tmp_path: Path) -> None:
    assert isinstance(probe(str(tmp_path / "nope")), str)
    f = tmp_path / "plain"
    f.write_text("x")
    res = probe(str(f))
    assert isinstance(res, str) and "not executable" in res


@pytest.mark.skipif(not PY2.exists(), reason="no pyenv Python 2.7 here")
def test_probe_python2_is_too_old() -> None:
    res = probe(str(PY2))
    assert isinstance(res, str) and "too old" in res and "2.7" in res


def test_probe_timeout(tmp_path: Path) -> None:
    slow = _script(tmp_path / "python3.98", "sleep 10")
    start = time.monotonic()
    res = probe(str(slow), timeout=0.5)
    assert isinstance(res, str) and "timed out" in res
    assert time.monotonic() - start < 3


def test_discover_on_fake_path(isolated: Path) -> None:
    _script(isolated / "python3.99", "echo garbage")
    _script(isolated / "python3.99t", "exit 1")
    (isolated / "python3").symlink_to(sys.executable)
    (isolated / "python3.11-config").symlink_to(sys.executable)  # not an interpreter name: ignored
    targets = discover_targets(include_rust=False, search_path=str(isolated))
    ids = [t.id for t in targets]
    major, minor = sys.version_info[:2]
    assert ids == [f"py{major}.{minor}"]  # the symlink and sys.executable collapse into one target
    assert targets[0].source == "current" and targets[0].available
    assert not any("3.99" in t.version for t in targets)


def test_discover_is_parallel_and_cached(isolated: Path) -> None:
    for i in range(10):
        _script(isolated / f"python3.{80 + i}", "sleep 0.5; echo nope")
    start = time.monotonic()
    discover_targets(include_rust=False, search_path=str(isolated))
    assert time.monotonic() - start < 2.0  # ten 0.5 s probes run concurrently, not one after another
    start = time.monotonic()
    discover_targets(include_rust=False, search_path=str(isolated))
    assert time.monotonic() - start < 1.0


def test_config_targets_and_errors(isolated: Path, tmp_path: Path) -> None:
    garbage = _script(isolated / "python3.99", "echo garbage")
    cfg = tmp_path / "gildash.toml"
    cfg.write_text(
        f'[[targets]]\nid = "mine"\npath = "{sys.executable}"\nenv = {{ FOO = "1" }}\n\n'
        f'[[targets]]\nid = "broken"\npath = "{garbage}"\n'
    )
    targets = discover_targets(cfg, include_rust=False, search_path=str(isolated))
    by_id = {t.id: t for t in targets}
    assert (
        by_id["mine"].available and by_id["mine"].env == (("FOO", "1"),) and by_id["mine"].source == "config"
    )
    assert not by_id["broken"].available and "not a Python" in by_id["broken"].reason
    with pytest.raises(TargetError, match="unavailable"):
        resolve_target("broken", targets)

    bad = tmp_path / "bad.toml"
    bad.write_text('[[targets]]\npath = "/x"\n\n[[targets]\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(bad) in str(info.value) and "line 4" in str(info.value)
    semantic = tmp_path / "semantic.toml"
    semantic.write_text('# comment\n[[targets]]\nid = "x"\n')
    with pytest.raises(ConfigError, match=rf"{semantic}:2: 'path'"):
        load_config(semantic)
    with pytest.raises(ConfigError, match="no such config"):
        load_config(tmp_path / "missing.toml")


def test_default_config_is_never_read_from_cwd(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("this is [not toml")
    assert load_config().targets == ()


def test_resolve_target(isolated: Path) -> None:
    (isolated / "python3").symlink_to(sys.executable)
    targets = discover_targets(include_rust=False, search_path=str(isolated))
    assert resolve_target(targets[0].id, targets) == targets[0]
    with pytest.raises(TargetError) as info:
        resolve_target("py2.0", targets)
    message = str(info.value)
    assert "unknown target 'py2.0'" in message and targets[0].id in message and "\n" not in message
    by_path = resolve_target(sys.executable, targets)
    assert by_path.kind == "python" and by_path.source == "path"
    with pytest.raises(TargetError, match="not a Python"):
        resolve_target("/bin/true", targets)


def test_gil_twin() -> None:
    res = probe(sys.executable)
    assert isinstance(res, ProbeResult)
    from gildash.engine.interpreters import _target_from_probe

    twin = gil_twin(_target_from_probe(res, "test"))
    assert twin.id.endswith("+gil") and twin.gil_enabled and ("PYTHON_GIL", "1") in twin.env
    assert "GIL forced on" in twin.label


@pytest.mark.ft
def test_free_threaded_yields_a_gil_twin(isolated: Path, ft_python: str) -> None:
    os.symlink(ft_python, isolated / "python3.13t")
    targets = discover_targets(include_rust=False, search_path=str(isolated))
    ids = [t.id for t in targets]
    ft = next(t for t in targets if t.free_threaded and not t.gil_enabled)
    assert f"{ft.id}+gil" in ids and ids.index(ft.id) < ids.index(f"{ft.id}+gil")
    twin = next(t for t in targets if t.id == f"{ft.id}+gil")
    assert twin.gil_enabled and dict(twin.env)["PYTHON_GIL"] == "1"


def test_headline_order_for_number_keys(isolated: Path, ft_python: str) -> None:
    # Keys 1-4 of the dashboard: the current interpreter, the free-threaded build, its +gil twin, rust.
    os.symlink(ft_python, isolated / "python3.13t")
    gil_313 = Path("/root/.pyenv/versions/3.13.0/bin/python3.13")
    if gil_313.exists():
        os.symlink(gil_313, isolated / "python3.13")
    targets = discover_targets(include_rust=False, search_path=str(isolated))
    kinds = [(t.source == "current", t.free_threaded, t.gil_enabled) for t in targets]
    assert kinds[0] == (True, False, True)
    assert kinds[1] == (False, True, False)
    assert kinds[2] == (False, True, True) and targets[2].id == f"{targets[1].id}+gil"
    assert all(not ft for _cur, ft, _gil in kinds[3:])
