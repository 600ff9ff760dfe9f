"""Stall detection for one run: no stdout line and no CPU for a while means the workload is stuck
(waiting on a lock, on input, on a dead peer), not computing. Pure: fed times and samples, never imports
textual.
"""

from __future__ import annotations

from gildash.engine.model import StallChanged

STALL_AFTER_S = 5.0
"""Seconds without a stdout line and without CPU after which a run counts as stalled."""
IDLE_CORES = 0.02
"""A sample below this many cores is 'no CPU' (an interpreter asleep in a wait uses about 0)."""


class StallWatch:
    """Folds stdout arrivals and CPU samples (harness seconds) into stall begin/end updates."""

    def __init__(self, after_s: float = STALL_AFTER_S, *, idle_cores: float = IDLE_CORES) -> None:
        self.after_s = after_s
        self.idle_cores = idle_cores
        self.stalled = False
        """Stalled now."""
        self.longest_s = 0.0
        """Longest stall so far (idle seconds, counted from its last output or CPU), 0.0 when none."""
        self._active_at = 0.0  # last harness time with output or CPU

    def output(self, t: float) -> StallChanged | None:
        """A stdout line arrived at t; a StallChanged(False) when it ends a stall."""
        return self._active(t)

    def sample(self, t: float, cores: float) -> StallChanged | None:
        """A CPU sample at t; StallChanged(True) when the stall begins, (False) when CPU ends it."""
        if cores >= self.idle_cores:
            return self._active(t)
        idle = t - self._active_at
        if idle < self.after_s:
            return None
        self.longest_s = max(self.longest_s, idle)
        if self.stalled:
            return None
        self.stalled = True
        return StallChanged(t=t, stalled=True, idle_s=idle)

    def _active(self, t: float) -> StallChanged | None:
        idle = t - self._active_at
        self._active_at = max(self._active_at, t)
        if not self.stalled:
            return None
        self.stalled = False
        self.longest_s = max(self.longest_s, idle)
        return StallChanged(t=t, stalled=False, idle_s=idle)
