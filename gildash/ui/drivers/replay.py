"""Replay driver: plays a recording's runs, one per `r`/`n`, at a chosen pace, pausable.

Owns the recorded runs, which one is next, the pace and the pause; the screen asks it for the next run
and shows its banner text. A paused replay also pauses the elapsed clock (Stopwatch).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gildash.engine.recording import RecordedRun, Recording
    from gildash.engine.session import RunLike

MIN_SPEED = 0.125
MAX_SPEED = 64.0


class Stopwatch:
    """Elapsed seconds of the run on show that stand still while it is paused."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def start(self, now: float) -> None:
        """A run began."""
        self._start, self._paused_at, self._paused_total = now, None, 0.0

    def stop(self) -> None:
        """The run ended: nothing to count any more."""
        self._start = None

    def pause(self, paused: bool, now: float) -> None:
        """Stop or resume counting."""
        if paused and self._paused_at is None:
            self._paused_at = now
        elif not paused and self._paused_at is not None:
            self._paused_total += now - self._paused_at
            self._paused_at = None

    def elapsed(self, now: float) -> float | None:
        """Seconds counted so far (None when no run is going)."""
        if self._start is None:
            return None
        until = self._paused_at if self._paused_at is not None else now
        return max(0.0, until - self._start - self._paused_total)


class ReplayDriver:
    """The recording on show and where the replay is in it."""

    def __init__(self, path: Path, speed: float = 1.0) -> None:
        self.path = path
        """The recording file."""
        if not speed >= 0:
            raise ValueError(f"replay speed must be 0 (unpaced) or above (got {speed})")
        self.speed = speed
        """Pace: 1.0 is the recorded pace; 0 plays without pauses (tests; the CLI asks for > 0)."""
        self.paused = False
        """The run on show is paused."""
        self.runs: list[RecordedRun] = []
        """The recorded runs (empty until loaded)."""
        self._index = 0

    def load(self, recording: Recording) -> str:
        """Take the recording's runs; returns a one-line note about them."""
        self.runs = list(recording.runs)
        note = f"{len(self.runs)} recorded run{'s' if len(self.runs) != 1 else ''}"
        if recording.skipped:
            note += f" · {recording.skipped} unreadable lines skipped"
        return note

    def next_run(self) -> Callable[[], RunLike] | None:
        """A maker of the next recorded run (wrapping around); None before the recording is loaded."""
        if not self.runs:
            return None
        from gildash.engine.recording import ReplayRun  # lazy: the live dashboard imports this module too

        recorded = self.runs[self._index % len(self.runs)]
        self._index += 1
        self.paused = False
        speed = self.speed
        return lambda: ReplayRun(recorded, speed=speed)

    def toggle_pause(self, run: object) -> bool:
        """Pause or resume the run on show (a ReplayRun); False when there is none to pause."""
        pause = getattr(run, "pause", None)
        if not callable(pause):
            return False
        self.paused = not self.paused
        pause(self.paused)
        return True

    def change_speed(self, factor: float) -> float:
        """Faster (factor > 1) or slower, within MIN_SPEED..MAX_SPEED; applies from the next run."""
        self.speed = max(MIN_SPEED, min(MAX_SPEED, (self.speed or MAX_SPEED) * factor))
        return self.speed

    def banner(self) -> str:
        """The banner's replay part."""
        state = "paused" if self.paused else (f"×{self.speed:g}" if self.speed else "unpaced")
        return f"replay {self.path.name} ({state}) — r/n next run, space pause, ] [ speed"
