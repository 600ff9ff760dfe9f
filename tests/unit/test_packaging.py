"""A wheel built from the project carries the workloads, the Rust sources and the stylesheets."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, repo: Path) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(repo),
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("gildash-*.whl"))


def test_wheel_carries_sources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for workload in ("sum_squares", "primes", "io_bound", "single_thread", "queue_pipeline", "http_server"):
        assert f"gildash/_data/workloads/{workload}.py" in names
    assert "gildash/_data/workloads/_protocol.py" in names
    assert "gildash/_data/rust_cpu_bench/Cargo.toml" in names
    assert "gildash/_data/rust_cpu_bench/Cargo.lock" in names
    assert "gildash/_data/rust_cpu_bench/src/main.rs" in names
    assert "gildash/hostagent.py" in names  # copied to remote hosts as it is
    assert any(n.endswith("dashboard.tcss") for n in names)


def test_installed_wheel_finds_its_workloads(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        "from gildash.engine.paths import workloads_dir, rust_src_dir;"
        "print(workloads_dir()); print(rust_src_dir())"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    workloads, rust = out.stdout.split()
    assert workloads.startswith(str(target)) and (Path(workloads) / "sum_squares.py").is_file()
    assert rust.startswith(str(target)) and (Path(rust) / "Cargo.toml").is_file()
