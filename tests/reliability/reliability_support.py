"""Helpers of the reliability suite: hostile fixture specs, a run driver, process-survival checks, CLI calls.

The name is unique on purpose: tests/ui puts its own `conftest`/`fakes` modules on sys.path.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from gildash.engine.model import (
    EventReceived,
    ProcSample,
    RunFinished,
    RunResult,
    RunSpec,
    RunStarted,
    RunUpdate,
    StartEvent,
    Target,
)
from gildash.engine.runner import Run

REPO = Path(__file__).resolve().parents[2]
HOSTILE = REPO / "tests" / "fixtures" / "hostile"
STOP_BUDGET_S = 3.0
"""The issue's bound: stop ends any run within 3 s (SIGTERM, SIGKILL after 2 s, reap)."""
PY = Target(
    id="py-test",
    label="the Python running the tests",
    executable=sys.executable,
    kind="python",
    version=".".join(map(str, sys.version_info[:3])),
    implementation="cpython",
)
"""A target for the interpreter running the tests (no discovery needed)."""


def hostile_path(name: str) -> Path:
    """The script of a hostile fixture."""
    path = HOSTILE / f"{name}.py"
    assert path.is_file(), path
    return path


def hostile_cmd(name: str, *args: str) -> tuple[str, ...]:
    """The `--cmd` template of a hostile fixture (what a user would type, pre-split)."""
    return ("{python}", str(hostile_path(name)), "--threads", "{threads}", *args)


def hostile_spec(name: str, *args: str, threads: int = 2, timeout_s: float | None = None) -> RunSpec:
    """A custom-command RunSpec running a hostile fixture under the test interpreter."""
    return RunSpec(
        target=PY, workload="custom", threads=threads, timeout_s=timeout_s, cmd=hostile_cmd(name, *args)
    )


@dataclass
class Observed:
    """Everything a test wants to know about one driven run."""

    updates: list[RunUpdate] = field(default_factory=list)
    result: RunResult | None = None
    pid: int = 0
    tree: set[int] = field(default_factory=set)
    """Every pid seen in the run's process tree while it ran (walked with psutil at each sample)."""
    start: StartEvent | None = None
    reported: set[int] = field(default_factory=set)
    """Pids the fixture reported in its start line's extra 'children' object (spawn_tree)."""
    stop_at: float | None = None
    finished_at: float | None = None

    @property
    def stop_to_finish_s(self) -> float:
        """Seconds from stop() to RunFinished."""
        assert self.stop_at is not None and self.finished_at is not None
        return self.finished_at - self.stop_at


def walk_tree(pid: int) -> set[int]:
    """The pid and all its live descendants (empty when gone)."""
    try:
        proc = psutil.Process(pid)
        return {pid, *(c.pid for c in proc.children(recursive=True))}
    except psutil.Error:
        return set()


async def drive(run: Run, *, stop_when: Callable[[Observed, RunUpdate], bool] | None = None) -> Observed:
    """Iterate a run to its end, walking its tree at every sample and calling stop() once stop_when holds."""
    obs = Observed()
    async for update in run.updates():
        obs.updates.append(update)
        if isinstance(update, RunStarted):
            obs.pid = update.pid
            obs.tree |= walk_tree(update.pid)
        elif isinstance(update, ProcSample) and obs.pid:
            obs.tree |= walk_tree(obs.pid)
        elif isinstance(update, EventReceived) and isinstance(update.event, StartEvent):
            obs.start = obs.start or update.event
            obs.reported |= reported_pids(update.raw)
        elif isinstance(update, RunFinished):
            obs.result = update.result
            obs.finished_at = time.monotonic()
        if stop_when is not None and obs.stop_at is None and stop_when(obs, update):
            obs.tree |= walk_tree(obs.pid)
            obs.stop_at = time.monotonic()
            run.stop()
    assert obs.result is not None, "RunFinished never came"
    return obs


def alive(pid: int) -> bool:
    """The pid names a running process (a zombie counts as dead: it runs nothing)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is pgid."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(proc.pid) == pgid and alive(proc.pid):
                found.append(proc.pid)
    return found


def survivors(pgid: int, pids: Iterable[int], *, wait_s: float = 1.0) -> list[int]:
    """Pids of the run still alive after up to wait_s: by process group and by the recorded tree."""
    deadline = time.monotonic() + wait_s
    while True:
        left = sorted({p for p in pids if alive(p)} | (set(group_members(pgid)) if pgid > 0 else set()))
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def describe(pids: Iterable[int]) -> list[str]:
    """'pid cmdline' of each pid, for assertion messages."""
    out = []
    for pid in pids:
        try:
            out.append(f"{pid} {' '.join(psutil.Process(pid).cmdline())}")
        except psutil.Error:
            out.append(f"{pid} (gone)")
    return out


def kill_leftovers(pids: Iterable[int]) -> None:
    """Test hygiene after a failed assertion: SIGKILL what a broken run left behind."""
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


def gildash(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m gildash ARGS` as a user would run it; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gildash", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(cwd) if cwd else None,
        timeout=timeout,
    )


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with isolated XDG dirs and the repo importable."""
    env = dict(os.environ)
    env.update(
        XDG_DATA_HOME=str(home / "xdg-data"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update(extra)
    return env


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert the CLI refused cleanly (exit 2, one `gildash: error:` line, no traceback); return it."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("gildash: error: "), lines
    return lines[0]


def reported_pids(raw: str) -> set[int]:
    """Pids in a start line's extra 'children' object ({"pool": [..], "detached": n, ...})."""
    try:
        children = json.loads(raw).get("children") or {}
    except (ValueError, AttributeError):
        return set()
    out: set[int] = set()
    for value in children.values():
        out |= {int(v) for v in (value if isinstance(value, list) else [value])}
    return out
