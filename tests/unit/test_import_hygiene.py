"""The engine and the CLI never import textual (each module checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gildash.engine

ENGINE = Path(gildash.engine.__file__).parent
MODULES = sorted(f"gildash.engine.{p.stem}" for p in ENGINE.glob("*.py") if p.stem != "__init__") + [
    "gildash.cli"
]


@pytest.mark.parametrize("module", MODULES)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import {module}, sys; assert 'textual' not in sys.modules, 'textual imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_cli_import_is_light() -> None:
    code = "import gildash.cli, sys; bad = {'psutil', 'textual'} & set(sys.modules); assert not bad, bad"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
