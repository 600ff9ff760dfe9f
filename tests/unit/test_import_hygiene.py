"""The engine and the CLI never import textual (each module checked in a fresh interpreter).

The import-linter contracts in pyproject.toml (`make lint`) check the same arrows statically, plus
widgets never importing screens and workloads never importing gildash.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gildash.cli
import gildash.engine


def _modules(package: str, folder: Path) -> list[str]:
    return [package] + sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")


ENGINE = Path(gildash.engine.__file__).parent
MODULES = _modules("gildash.engine", ENGINE) + _modules("gildash.cli", Path(gildash.cli.__file__).parent)


@pytest.mark.parametrize("module", MODULES)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import {module}, sys; assert 'textual' not in sys.modules, 'textual imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_cli_import_is_light() -> None:
    # `gildash --help` imports the CLI only: no psutil, no textual, and the model's dataclasses (and the
    # machine reader) are not built either.
    heavy = "{'psutil', 'textual', 'gildash.engine.model'}"
    code = f"import gildash.cli, sys; bad = {heavy} & set(sys.modules); assert not bad, bad"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_dashboard_start_leaves_what_comes_later_unimported() -> None:
    # Every module imported before the first frame delays it: runs, discovery, calibration, recordings,
    # TOML, ssh and the screens behind keys are imported when first used.
    late = {
        "psutil",
        "tomllib",
        "gildash.engine.runner",
        "gildash.engine.interpreters",
        "gildash.engine.calibrate",
        "gildash.engine.recording",
        "gildash.engine.remote.ssh",
        "gildash.ui.commands",
        "gildash.ui.screens.help",
        "gildash.ui.screens.confirm",
        "gildash.ui.screens.charts",
        "gildash.ui.screens.history",
        "gildash.ui.exporting",
    }
    code = (
        "import sys\n"
        "from gildash.ui.app import make_app\n"
        "from gildash.ui.sources import live_sources\n"
        "make_app(live_sources())\n"
        f"bad = set({sorted(late)!r}) & set(sys.modules)\n"
        "assert not bad, sorted(bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
