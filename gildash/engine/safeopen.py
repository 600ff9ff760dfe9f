"""Opening a file the user named without ever blocking on it: FIFOs, devices, sockets and directories are
refused with a one-line reason before a byte is read or written.

open(2) of a FIFO blocks until the other end opens, so the kind is checked twice: stat before opening (the
common case, nothing opened at all), then fstat of a descriptor opened with O_NONBLOCK (a file swapped in
between). Never imports textual.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotRegularFile(OSError):
    """The path names something other than a regular file; str() is the one-line reason, `what` the
    reason without the path ('a FIFO, not a regular file')."""

    def __init__(self, path: Path, mode: int) -> None:
        self.what = f"{kind_of(mode)}, not a regular file"
        super().__init__(f"{path} is {self.what}")


def kind_of(mode: int) -> str:
    """What a st_mode describes, in words: 'a FIFO', 'a character device', ..."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _refuse(path: Path, mode: int) -> NotRegularFile:
    return NotRegularFile(path, mode)


def check_regular(path: Path) -> bool:
    """True when path is a regular file, False when it does not exist; NotRegularFile otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, st.st_mode)
    return True


def open_regular(path: Path, flags: int, mode: int = 0o644) -> int:
    """os.open(path, flags) for a regular file only, never blocking; returns the descriptor (O_CLOEXEC)."""
    check_regular(path)
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, st.st_mode)
        # A regular file ignores O_NONBLOCK, but clear it so nothing downstream is surprised.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def reason(exc: OSError) -> str:
    """The one-line reason of an OSError without its path (strerror when it has one)."""
    if isinstance(exc, NotRegularFile):
        return exc.what
    return exc.strerror or str(exc)
