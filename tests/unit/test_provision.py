"""The provisioned interpreter really is free-threaded, and PYTHON_GIL=1 really turns the GIL on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gildash.engine import provision


def test_provisioned_interpreter_is_free_threaded(ft_python: str) -> None:
    info = provision.probe_free_threaded(ft_python)
    assert info is not None
    assert info["ft"] is True
    assert info["gil"] is False


def test_python_gil_1_enables_the_gil(ft_python: str) -> None:
    info = provision.probe_free_threaded(ft_python, gil="1")
    assert info is not None
    assert info["ft"] is True
    assert info["gil"] is True


def test_gil_interpreter_is_not_mistaken_for_free_threaded() -> None:
    assert provision.is_free_threaded(sys.executable) is False
    assert provision.is_free_threaded("/bin/true") is False
    assert provision.probe_free_threaded("/nonexistent/python") is None


def test_find_is_idempotent_and_fast_when_cached(ft_python: str) -> None:
    # A second provisioning call must reuse what exists, not rebuild: it answers without building.
    assert provision.ensure_free_threaded(allow_build=False) is not None


def test_cli_prints_the_verified_path(ft_python: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gildash.engine.provision", "--no-build"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert provision.is_free_threaded(out.stdout.strip())


def test_mirror_read_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n",
        encoding="utf-8",
    )
    assert provision.debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_read_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://other.example/debian bookworm main\n", encoding="utf-8"
    )
    assert provision.debian_mirror(tmp_path) == "http://other.example/debian"


def test_no_mirror_gives_none(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://repo.example/apt stable main\n", encoding="utf-8")
    assert provision.debian_mirror(tmp_path) is None
