"""Shared fixtures: the repo paths and the free-threaded interpreter the project provisions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def gil_python() -> str:
    """A CPython with the GIL: the interpreter running the tests (3.11 here)."""
    return sys.executable


@pytest.fixture(scope="session")
def ft_python() -> str:
    """The free-threaded CPython `make python-ft` provisions.

    `make test` sets GILDASH_REQUIRE_FT=1 so a missing build fails the suite instead of skipping it.
    """
    from gildash.engine.provision import find_free_threaded

    found = find_free_threaded()
    if found is None:
        if os.environ.get("GILDASH_REQUIRE_FT") == "1":
            pytest.fail("no free-threaded CPython found: run `make python-ft`")
        pytest.skip("no free-threaded CPython (run `make python-ft`)")
    return str(found)
