"""The dashboard's side of the engine's RunSession: what runs now, in which worker, and what it tells.

Owns the session, the screen's one exclusive "run" worker, the going sweep's note, and the hand-off of
finished runs and sweeps to the session history. The session's callbacks become messages to the screen
(workers never touch widgets); sweep messages are passed on to every other screen on the stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker

from gildash.engine.model import CoreSample, RunResult, RunStarted, SweepPlan, SweepProgress, SweepResult
from gildash.engine.session import RunLike, RunSession, headline_sweep
from gildash.engine.settings import Selection
from gildash.ui.messages import RunPoke, SweepChanged, SweepEnded
from gildash.ui.run_display import RunContext
from gildash.ui.sources import Sources

if TYPE_CHECKING:
    from gildash.engine.history import SessionHistory

STOP_WAIT_S = 6.0
"""Seconds quitting waits for a stopped run to reap its processes (SIGKILL comes after 2 s)."""


class RunControl:
    """Starts, stops and waits for the screen's runs and sweeps; the RunSession's listener."""

    def __init__(
        self,
        screen: Screen[Any],
        sources: Sources,
        history: SessionHistory,
        *,
        live: bool,
        busy: Callable[[], None],
    ) -> None:
        self._screen = screen
        self._history = history
        self._busy = busy
        """Called when a run or sweep has started (the screen marks itself running)."""
        self.session = RunSession(
            sources.start_run,
            self,
            record_dir=sources.record_dir if live else None,
            calibrate=sources.calibrate if live else None,
            machine=sources.machine if live else None,
        )
        self.sweep_note = ""
        """What the going (or last) sweep left out and why, shown with it."""

    # --- starting and stopping -------------------------------------------------------------------------

    def refuse(self) -> bool:
        """True (and says so) when a run or sweep is already going."""
        if self.session.running:
            self._screen.notify("a run is already going (x stops it)", severity="warning", timeout=3)
            return True
        return False

    def start_single(self, make_run: Callable[[], RunLike]) -> Worker[Any] | None:
        """One run made by `make_run` (live or replayed) in the exclusive "run" worker."""
        coro = self.session.run(make_run)
        if coro is None:
            return None
        self._busy()

        async def single() -> RunResult | None:
            result = await coro
            if result is not None:
                self._add_history(lambda: self._history.add_run(result))
            return result

        return self._screen.run_worker(single(), group="run", name="run", exclusive=True, exit_on_error=False)

    def sweep_selection(self, selection: Selection, cores: int, *, wide: bool) -> None:
        """The sweep `s` starts: the selected target and the headline ones over 1..cores workers."""
        choice = headline_sweep(selection.targets, selection.target, selection.settings, cores, wide=wide)
        # A sweep that leaves a headline target out says so where the audience looks, for as long as it runs.
        self.sweep_note = choice.note
        if choice.note:
            self._screen.notify(f"sweep {choice.note}", severity="warning", timeout=6)
        if choice.plan is None:
            self._screen.notify("no available targets to sweep", severity="warning")
            return
        self.start_sweep(choice.plan)

    def start_sweep(self, plan: SweepPlan) -> Worker[SweepResult | None] | None:
        """Start a sweep in the exclusive "run" worker."""
        coro = self.session.sweep(plan)
        if coro is None:
            return None
        self._busy()
        return self._screen.run_worker(coro, group="run", name="sweep", exclusive=True, exit_on_error=False)

    def _add_history(self, add: Callable[[], object]) -> None:
        try:
            add()
        except Exception as exc:  # history is a nicety: a broken one never loses the run on screen
            self._screen.notify(f"history: {exc}", severity="warning")

    def _run_workers(self) -> list[Worker[Any]]:
        return [w for w in self._screen.workers if w.group == "run" and not w.is_finished]

    async def wait_idle(self) -> None:
        """Until no run or sweep is going (drivers use it between steps)."""
        while self.session.running or self._run_workers():
            await asyncio.sleep(0.1)

    async def stop_and_wait(self, timeout: float = STOP_WAIT_S) -> None:
        """Stop the run and demo, and wait until the run's processes are reaped (cancel after timeout)."""
        for worker in list(self._screen.workers):
            if worker.group == "demo":
                worker.cancel()
        self.session.stop()
        for worker in self._run_workers():
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(worker.wait())), timeout)
            except Exception:
                worker.cancel()  # cancelling closes updates(), whose finally kills the process group

    def sample_cores(self, sampler: Callable[[], CoreSample]) -> CoreSample | None:
        """The machine's per-core sample for this frame, recorded with the run going (None: a failed read
        skips one frame; the next tick tries again)."""
        try:
            sample = sampler()
        except Exception:
            return None
        self.session.record_cores(sample)  # the recording's per-core samples, for replays
        return sample

    # --- what the screen shows with a run ----------------------------------------------------------------

    def context(self, update: RunStarted, selection: Selection, *, replay: bool) -> RunContext:
        """What a starting run's updates do not say: its place in a sweep, its note, what its size means."""
        sweep = self.session.sweep_position(update.run_id)
        preset = selection.settings.preset
        size_note = "recorded" if replay else (preset.note if update.spec.size == preset.size else "")
        # A sweep's own runs carry its note; its calibration runs say what they calibrate (a replayed one,
        # whose sweep is not going, says what it was).
        note = self.sweep_note if sweep is not None else self.session.run_note(update.run_id)
        if not note and update.spec.calibration:
            note = "calibration run: finds the sweep's size (not one of its points)"
        return RunContext(sweep, note, size_note)

    def sweep_ended(self, message: SweepEnded) -> str:
        """Record the ended sweep, pass the message on to the other screens; how it ended, with its note."""
        if message.result is not None and message.result.runs:
            result = message.result
            self._add_history(lambda: self._history.add_sweep(result))
        self.forward(lambda: SweepEnded(message.result, message.stopped))
        outcome = self.session.sweep_outcome(message.stopped)
        return " · ".join(filter(None, (outcome, self.sweep_note))) if outcome else ""

    def forward(self, make: Callable[[], Message]) -> None:
        """Post a message made by `make` to every other screen on the stack (the charts grow with it)."""
        for screen in self._screen.app.screen_stack:
            if screen is not self._screen:
                screen.post_message(make())

    # --- the session's listener (called on the screen's event loop) -------------------------------------

    def session_poke(self) -> None:
        self._screen.post_message(RunPoke())

    def session_sweep_step(self, progress: SweepProgress) -> None:
        self._screen.post_message(SweepChanged(progress.partial))

    def session_sweep_ended(self, result: SweepResult | None, stopped: bool) -> None:
        self._screen.post_message(SweepEnded(result, stopped))

    def session_notice(self, text: str) -> None:
        self._screen.notify(text, severity="warning")
