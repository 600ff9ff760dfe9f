"""Export for slides: one new folder with a screenshot of the screen and the charted results as CSV/MD/JSON.

The screenshot is taken on the UI thread (it reads the compositor); everything else (formatting and
file writes) runs in a thread. Never overwrites anything: an existing folder gets a -2, -3 ... suffix.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual.app import App

from gildash.engine import paths
from gildash.engine.export import export_csv, export_json, export_markdown, write_export
from gildash.engine.history import SessionHistory
from gildash.engine.model import RunResult, SweepResult
from gildash.ui.screens.charts import current_sweep

BUNDLE_FILES = ("screen.svg", "results.csv", "results.md", "results.json")
"""What every bundle folder holds."""

MAX_SUFFIX = 1000
"""Give up after this many existing folders of the same name (something is wrong by then)."""


def default_folder(clock: Callable[[], float] = time.time) -> Path:
    """data_dir()/exports/<YYYYmmdd-HHMMSS> for the current local time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    return paths.data_dir() / "exports" / stamp


def new_folder(wanted: Path) -> Path:
    """Create wanted, or wanted-2, wanted-3 ... if it exists; returns the folder actually created."""
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, MAX_SUFFIX + 1):
        candidate = wanted if n == 1 else wanted.with_name(f"{wanted.name}-{n}")
        try:
            # mkdir without exist_ok is the atomic claim: two exports in the same second get two folders.
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{wanted} and {MAX_SUFFIX - 1} numbered variants already exist")


def write_bundle(folder: Path, svg: str, runs: Sequence[RunResult], sweep: SweepResult | None) -> Path:
    """Blocking: claim a new folder from `folder` and write the four files into it; returns the folder."""
    created = new_folder(folder)
    texts = {
        "screen.svg": svg,
        "results.csv": export_csv(runs, sweep),
        "results.md": export_markdown(runs, sweep),
        "results.json": export_json(runs, sweep),
    }
    for name in BUNDLE_FILES:
        write_export(created / name, texts[name])
    return created


async def export_bundle(
    app: App[Any],
    history: SessionHistory,
    folder: Path | None = None,
    *,
    sweep: SweepResult | None = None,
    clock: Callable[[], float] = time.time,
) -> Path:
    """Screenshot what is on screen now and write it with the charted results to a new folder.

    Exports what the charts show: `sweep` when given (e.g. a running sweep's partial), else the
    session's runs of the workload that ran last (charts.current_sweep). Call from the UI thread
    (an action or a handler); the files are written in a thread. Returns the folder created, which is
    `folder` (default: data_dir()/exports/<timestamp>) or that name with a -N suffix if it existed.
    """
    svg = app.export_screenshot()
    # Pick the data here: the history is only safe to read on the UI thread that mutates it.
    chosen = sweep if sweep is not None else current_sweep(history)
    runs = list(chosen.runs) if chosen is not None else []
    wanted = folder if folder is not None else default_folder(clock)
    return await asyncio.to_thread(write_bundle, wanted, svg, runs, chosen)
