"""The one path from a run's update stream to its recording: RunTap (in order, on the caller's thread) and
BackgroundTap (the same on a writer thread, so JSON encoding and file writes stay off a UI's event loop).

Every recorded run goes through here, whoever drives it (the CLI's runner or the dashboard's session);
the Recorder (engine/recording.py) owns the file format. Never imports textual.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gildash.engine.model import (
    CoreSample,
    EventReceived,
    MalformedLine,
    ProcSample,
    RunFinished,
    RunStarted,
    RunUpdate,
    StderrReceived,
)

if TYPE_CHECKING:
    from gildash.engine.recording import Recorder  # the taps' user brings the Recorder: imported on its side

StdoutLine = tuple[float, str, bool]
"""A stdout line as recorded: (harness time, raw text, truncated)."""


class RunTap:
    """Writes one run's updates to a Recorder as they pass (write errors never raise: Recorder's rule)."""

    def __init__(
        self, recorder: Recorder, run_id: str, harness_clock: Callable[[], float] | None = None
    ) -> None:
        self._recorder = recorder
        self._run_id = run_id
        self._clock = harness_clock
        """Seconds since the run's spawn, for per-core samples (None: the time of the last update seen)."""
        self._t = 0.0
        self._ended = False
        """The run's result is written: nothing of this run may follow it (a late core sample)."""

    def __call__(self, update: RunUpdate) -> None:
        self.batch((update,))

    def stdout_lines(self, t: float, raws: Sequence[str]) -> None:
        """Record stdout lines that arrived at t and none of them cut: what batch() records of their
        EventReceived updates, for a caller that has not built them (a flood's read)."""
        if self._ended or not raws:
            return
        self._t = t
        self._recorder.lines(self._run_id, [(t, raw, False) for raw in raws])

    def batch(self, updates: Sequence[RunUpdate | StdoutLine]) -> None:
        """Record updates (or stdout lines already taken from theirs) in order; consecutive stdout lines go
        out in one write."""
        rec, run_id = self._recorder, self._run_id
        lines: list[StdoutLine] = []
        for update in updates:
            if self._ended:
                break
            if isinstance(update, tuple):
                self._t = update[0]
                lines.append(update)
                continue
            if isinstance(update, EventReceived):
                self._t = update.t
                truncated = isinstance(update.event, MalformedLine) and update.event.truncated
                lines.append((update.t, update.raw, truncated))
                continue
            if lines:
                rec.lines(run_id, lines)
                lines = []
            if isinstance(update, RunStarted):
                rec.run_start(run_id, update.spec, update.argv, update.pid, update.noisy, time.time())
            elif isinstance(update, StderrReceived):
                self._t = update.t
                rec.stderr(run_id, update.t, update.line)
            elif isinstance(update, ProcSample):
                self._t = update.t
                rec.sample(run_id, update)
            elif isinstance(update, CoreSample):
                # Core samples carry the monotonic clock; the recording wants harness time.
                rec.cores(run_id, self._clock() if self._clock is not None else self._t, update)
            elif isinstance(update, RunFinished):
                rec.result(run_id, update.result)
                self._ended = True
        if lines:
            rec.lines(run_id, lines)


class BackgroundTap:
    """Hands a run's updates to a writer thread: JSON encoding and file writes stay off the UI thread.

    Every update is written, in order; close() waits until the thread wrote them all.
    """

    POLL_S = 0.05
    """How often the writer thread looks for new updates (it writes them in one go)."""

    def __init__(self, tap: RunTap) -> None:
        self._tap = tap
        self._queue: deque[RunUpdate | StdoutLine] = deque()  # append/popleft are thread-safe
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="gildash-record", daemon=True)
        self._thread.start()

    def __call__(self, update: RunUpdate) -> None:
        if isinstance(update, EventReceived):
            # Only what the recording keeps of a stdout line: the update itself (and its parsed event) can
            # die at once. Queued whole, a flood's updates lived until the thread's next look and every
            # young collection on the UI thread found them alive and promoted them (full collections of
            # tens of ms, mid-flood).
            truncated = isinstance(update.event, MalformedLine) and update.event.truncated
            self._queue.append((update.t, update.raw, truncated))
        else:
            self._queue.append(update)

    def _write_loop(self) -> None:
        queue = self._queue
        while True:
            closing = self._closing.wait(self.POLL_S)
            while queue:
                # What arrived since the last look, in order: one write for its lines, not one per line.
                batch = [queue.popleft() for _ in range(len(queue))]
                try:
                    self._tap.batch(batch)
                except Exception:
                    pass  # the Recorder never raises; a broken tap must not kill the thread with lines left
            if closing:
                return

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued and stop the thread (blocks; call it off the event loop)."""
        self._closing.set()
        self._thread.join(timeout)

    @property
    def pending(self) -> int:
        """Updates not yet written."""
        return len(self._queue)
