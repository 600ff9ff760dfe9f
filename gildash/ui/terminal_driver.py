"""The terminal driver: Textual's Linux driver with an input thread that sleeps until there is input.

Textual's input thread wakes ten times a second to check for a stop and for an escape sequence's
timeout, for as long as the app runs. On an idle dashboard those wake-ups are about a fifth of what the
observer costs the machine it observes. Here the thread blocks on the terminal and on a wake-up pipe;
it polls at Textual's rate only for the few rounds after input in which a lone Esc may still be waiting
for its timeout (ESCDELAY).
"""

from __future__ import annotations

import math
import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import TYPE_CHECKING

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

if TYPE_CHECKING:
    from textual.app import App

POLL_S = 0.1
"""Select timeout while the parser may hold a partial sequence (Textual's own polling period)."""
POLL_ROUNDS = math.ceil(constants.ESCAPE_DELAY / POLL_S) + 1
"""Idle polls after input before blocking: a lone Esc's timeout has passed by then."""
READ_SIZE = 4096
"""Bytes read from the terminal at a time (as Textual reads)."""


class WakingEvent(threading.Event):
    """An Event whose set() also writes to a pipe, so a thread blocked in select() sees it at once."""

    def __init__(self) -> None:
        super().__init__()
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)

    def set(self) -> None:
        super().set()
        try:
            os.write(self._write_fd, b"x")
        except BlockingIOError:
            pass  # the pipe already holds a wake-up nobody has read: one is enough

    def drain(self) -> None:
        """Forget the wake-ups already read by select()."""
        os.set_blocking(self.read_fd, False)
        try:
            while os.read(self.read_fd, 512):
                pass
        except BlockingIOError:
            pass


class QuietLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread does not poll while nothing happens."""

    def __init__(
        self,
        app: App[object],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.exit_event = WakingEvent()

    def run_input_thread(self) -> None:
        """Wait for input or a stop, feed the parser, and dispatch its events."""
        wake = self.exit_event
        assert isinstance(wake, WakingEvent)
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(wake.read_fd, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        polls_left = 0
        reading = True

        def dispatch(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> bool:
            """Feed what the terminal has; True when it had something."""
            nonlocal reading
            had_input = False
            for key, _mask in ready:
                if key.fd != self.fileno:
                    continue
                data = os.read(self.fileno, READ_SIZE)
                if not data:
                    # End of input (a closed pipe): readable forever from now on, so stop watching it.
                    selector.unregister(self.fileno)
                    reading = False
                    continue
                text = decode(data, final=final)
                if text:
                    had_input = True
                    for event in parser.feed(text):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)
            return had_input

        try:
            while not wake.is_set():
                ready = selector.select(POLL_S if polls_left else None)
                if any(key.fd == wake.read_fd for key, _mask in ready):
                    wake.drain()
                polls_left = POLL_ROUNDS if dispatch(ready) else max(0, polls_left - 1)
            if reading:
                selector.unregister(self.fileno)
            dispatch(selector.select(0), final=True)
        finally:
            selector.close()
            wake.drain()
