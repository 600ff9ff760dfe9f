"""Per-thread lanes: one row per workload thread, a strip of cells coloured by its CPU use over time.

With the GIL each of N busy threads sits near 1/N (half-filled lanes at 2 threads); free-threaded,
each runs near 100 %. Fed from ProcSample.thread_util; owns its history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from gildash.ui.widgets.lines import Line, LineWidget, level_of

HISTORY = 200
"""Samples kept per lane (50 s at the dashboard's 4 Hz sampler, 20 s of a 10 Hz recording)."""
SHADES = " ░▒▓█"
"""Cell glyphs from idle to fully busy (readable without colour too)."""
MAX_LANES = 16
"""Lanes drawn at most (the sampler reports at most 16)."""


def util_level(util: float) -> str:
    """Colour level of a 0..1 utilization (a thread: busy from 75 %, a lower bar than a core's)."""
    return level_of(util, (0.05, 0.35, 0.75))


def busy_average(lane: Sequence[float], window: int = 10) -> float:
    """Mean of the lane's last `window` busy samples: still meaningful after its thread has ended."""
    busy = [u for u in lane if u >= 0.05][-window:]
    return sum(busy) / len(busy) if busy else 0.0


class ThreadLanes(LineWidget):
    """Lanes of per-thread utilization, newest on the right."""

    COMPONENT_CLASSES = {"lanes--idle", "lanes--low", "lanes--mid", "lanes--high", "lanes--label"}
    PREFIX = "lanes"

    DEFAULT_CSS = """
    ThreadLanes { height: auto; min-height: 1; }
    ThreadLanes > .lanes--idle { color: $foreground 25%; }
    ThreadLanes > .lanes--low { color: $error; }
    ThreadLanes > .lanes--mid { color: $warning; }
    ThreadLanes > .lanes--high { color: $success; }
    ThreadLanes > .lanes--label { color: $foreground 60%; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._lanes: dict[int, deque[float]] = {}
        self._ticks = 0
        self._processes = False
        """The run's workers are processes: lanes are labelled P1, P2 (one busy thread per process)."""

    @property
    def lane_count(self) -> int:
        """Lanes seen this run."""
        return len(self._lanes)

    def latest(self) -> list[float]:
        """Each lane's newest utilization, in lane order."""
        return [lane[-1] if lane else 0.0 for lane in self._lanes.values()]

    def clear(self, *, processes: bool = False) -> None:
        """Forget every lane (a new run starts; processes=True: its workers are processes)."""
        self._lanes.clear()
        self._ticks = 0
        self._processes = processes
        self.changed()

    def push_many(self, samples: Sequence[tuple[Sequence[int], Sequence[float]]]) -> None:
        """Add several samples in order, then repaint once."""
        for thread_ids, utils in samples:
            now = dict(zip(thread_ids, utils, strict=False))
            for tid in now:
                if tid not in self._lanes and len(self._lanes) < MAX_LANES:
                    # Back-fill so a late thread's strip lines up in time with the others.
                    self._lanes[tid] = deque([0.0] * min(self._ticks, HISTORY), maxlen=HISTORY)
            for tid, lane in self._lanes.items():
                lane.append(min(1.0, max(0.0, float(now.get(tid, 0.0)))))
            self._ticks += 1
        self.changed()

    def build_lines(self) -> list[Line]:
        if not self._lanes:
            noun = "process" if self._processes else "thread"
            return [((f"one lane per {noun}, during a run", "label"),)]
        label_w = 4
        strip_w = max(1, self.size.width - label_w - 6)
        lines: list[Line] = []
        for n, lane in enumerate(self._lanes.values()):
            tail = list(lane)[-strip_w:]
            segments: list[tuple[str, str]] = [
                (f"{'P' if self._processes else 'T'}{n + 1}".ljust(label_w), "label"),
                (" " * (strip_w - len(tail)), ""),
            ]
            # One segment per run of equal levels, not one per cell: far fewer segments to draw per frame.
            run_level, run = "", ""
            for u in tail:
                glyph = SHADES[min(len(SHADES) - 1, max(1 if u >= 0.05 else 0, round(u * (len(SHADES) - 1))))]
                cell_level = util_level(u)
                if cell_level != run_level and run:
                    segments.append((run, run_level))
                    run = ""
                run_level = cell_level
                run += glyph
            if run:
                segments.append((run, run_level))
            segments.append((f" {busy_average(lane) * 100:3.0f}%", ""))
            lines.append(tuple(segments))
        return lines
