"""The terminal driver's input thread: asleep while nothing happens, and still every key, Esc and stop."""

from __future__ import annotations

import os
import pty
import selectors
import signal
import threading
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.message import Message

from gildash.ui import terminal_driver
from gildash.ui.terminal_driver import QuietLinuxDriver


class CountingSelector(selectors.SelectSelector):
    """A selector that counts how often the input thread asks it to wait."""

    calls = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        CountingSelector.calls += 1
        return super().select(timeout)


class RecordingDriver(QuietLinuxDriver):
    """The driver with its events kept instead of sent to an app."""

    def __init__(self, fileno: int) -> None:
        super().__init__(App())
        self.fileno = fileno
        self.seen: list[Message] = []

    def process_message(self, message: Message) -> None:
        self.seen.append(message)

    def keys(self) -> list[str]:
        return [m.key for m in self.seen if isinstance(m, events.Key)]


@pytest.fixture(autouse=True)
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # LinuxDriver installs SIGTSTP/SIGCONT handlers: put the test runner's back afterwards.
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    CountingSelector.calls = 0
    monkeypatch.setattr(terminal_driver.selectors, "SelectSelector", CountingSelector)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@contextmanager
def reading(driver: RecordingDriver | None = None) -> Iterator[tuple[RecordingDriver, int]]:
    """A driver's input thread reading a terminal in raw mode (each key readable at once, as the app puts
    it): yields (driver, the terminal's other end to type into); stops the thread and closes both ends."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    if driver is None:
        driver = RecordingDriver(slave)
    else:
        driver.exit_event.clear()
        driver.fileno = slave
    thread = start(driver)
    try:
        yield driver, master
    finally:
        stop(driver, thread)
        os.close(master)
        os.close(slave)


def start(driver: RecordingDriver) -> threading.Thread:
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    return thread


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop(driver: RecordingDriver, thread: threading.Thread) -> None:
    driver.exit_event.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "the input thread did not stop when asked"


async def test_idle_input_thread_sleeps_instead_of_polling() -> None:
    with reading():
        time.sleep(1.0)
        # Textual's own thread wakes every 0.1 s (about 10 calls here); this one waits once.
        assert CountingSelector.calls <= 2


async def test_keys_and_a_lone_escape_arrive() -> None:
    with reading() as (driver, master):
        os.write(master, b"a")
        assert wait_until(lambda: driver.keys() == ["a"])
        time.sleep(0.5)  # the thread is asleep again
        os.write(master, b"\x1b")
        # A lone Esc is only known as a key after its timeout: the thread must wake for it unasked.
        assert wait_until(lambda: driver.keys() == ["a", "escape"])


async def test_stop_wakes_a_sleeping_thread_at_once() -> None:
    with reading() as (driver, _master):
        time.sleep(0.3)  # leaving stops it: stop() asserts the thread ended
    # Started again after a stop (a suspend and resume): the same driver still reads keys.
    with reading(driver) as (_driver, master):
        os.write(master, b"b")
        assert wait_until(lambda: driver.keys() == ["b"])


async def test_closed_input_is_not_read_in_a_loop() -> None:
    read_end, write_end = os.pipe()
    driver = RecordingDriver(read_end)
    thread = start(driver)
    try:
        os.write(write_end, b"q")
        os.close(write_end)
        assert wait_until(lambda: driver.keys() == ["q"])
        before = CountingSelector.calls
        time.sleep(0.5)
        # End of input: readable forever, so a thread still watching it would spin here.
        assert CountingSelector.calls - before <= 6
    finally:
        stop(driver, thread)
        os.close(read_end)
