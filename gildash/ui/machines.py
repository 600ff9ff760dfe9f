"""The machines the dashboard offers: this one and the configured ssh hosts; which one is on show; the open
session of a host; each machine's own SessionHistory (runs of two machines never meet in a chart).

At most one host session is open at a time: switching away from a host closes it (nothing stays on the
host), and close_all() ends every session still open when the app exits. Opening a host blocks (ssh, the
bundle's copy): callers do it off the UI thread. Never starts a run; never imports textual.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gildash.engine.history import SessionHistory
from gildash.ui.sources import Sources

THIS_MACHINE = "this machine"
"""How the machine gildash runs on is named on screen."""


@dataclass(frozen=True)
class Opened:
    """A machine ready to be shown: its sources and, for a host, how to end its session."""

    sources: Sources
    """What the dashboard draws and runs on that machine."""
    close: Callable[[], None] | None = None
    """Ends the host's session, blocking (None: this machine, nothing to end)."""
    lost: Callable[[], str | None] = lambda: None
    """Why the host's session ended early, one line (None while it is fine)."""


OpenHost = Callable[[str], Opened]
"""Opens a session on an ssh destination (blocking; RemoteError on failure)."""


def open_remote(host: str, *, record_dir: Path | None = None) -> Opened:
    """A real session on host: RemoteHost (login, bundle, facts) and its CoreWatch, as remote_sources
    takes them; RemoteError (and nothing left open) on failure."""
    from gildash.engine.remote.host import RemoteHost
    from gildash.engine.remote.watch import CoreWatch
    from gildash.ui.sources import remote_sources

    session = RemoteHost(host).open()
    try:
        watch = CoreWatch(session, session.cores)
    except BaseException:
        session.close()
        raise

    def close() -> None:
        try:
            watch.close()
        finally:
            session.close()

    return Opened(remote_sources(session, watch, record_dir=record_dir), close, lambda: watch.error)


class Machines:
    """This machine plus the hosts, in order; the one on show, its session, every machine's history."""

    def __init__(
        self,
        local: Callable[[], Sources],
        hosts: Sequence[str] = (),
        open_host: OpenHost | None = None,
        *,
        start: tuple[str, Opened] | None = None,
    ) -> None:
        """local makes this machine's sources (once, when first shown); start: a host already open to show
        first (it leads the hosts)."""
        first = [start[0]] if start is not None else []
        names: list[str | None] = [None]
        for host in [*first, *hosts]:
            if host not in names:
                names.append(host)
        self.names: tuple[str | None, ...] = tuple(names)
        """Every machine on offer: None (this machine) first, then the hosts."""
        self._local = local
        self._local_sources: Sources | None = None
        self._open_host = open_host
        self._histories: dict[str | None, SessionHistory] = {}
        self._lock = threading.Lock()
        self._sessions: dict[str, Opened] = {}  # host sessions open (on show, or being closed)
        self._closed = False
        self.lost: list[str] = []
        """Lines saying which host sessions ended early (connection lost), in order."""
        self.on_show: str | None = None
        """The machine on show (None: this machine)."""
        if start is not None:
            self.on_show = start[0]
            self._sessions[start[0]] = start[1]
            self.sources = start[1].sources
        else:
            self.sources = self._this_machine()
        self._tried: str | None = self.on_show

    @classmethod
    def only(cls, sources: Sources) -> Machines:
        """This machine alone, over these sources (replay, demo, tests)."""
        return cls(lambda: sources)

    @property
    def has_hosts(self) -> bool:
        """Whether there is anything to switch to."""
        return len(self.names) > 1

    @property
    def history(self) -> SessionHistory:
        """The history of the machine on show."""
        return self.history_of(self.on_show)

    def history_of(self, machine: str | None) -> SessionHistory:
        """That machine's own history of this session's runs and sweeps."""
        return self._histories.setdefault(machine, SessionHistory())

    @staticmethod
    def label(machine: str | None) -> str:
        """The machine's name on screen."""
        return THIS_MACHINE if machine is None else machine

    def next_choice(self) -> str | None:
        """The machine `m` goes to: the one after the last tried (a host that failed to open is passed over
        by the next press)."""
        index = self.names.index(self._tried) if self._tried in self.names else 0
        return self.names[(index + 1) % len(self.names)]

    def _this_machine(self) -> Sources:
        if self._local_sources is None:
            self._local_sources = self._local()
        return self._local_sources

    def open(self, machine: str | None) -> Opened:
        """Get the machine ready to show (blocking for a host: call it off the UI thread). Raises what the
        host's opener raises (RemoteError) and leaves nothing open then."""
        self._tried = machine
        if machine is None:
            return Opened(self._this_machine())
        if self._open_host is None:
            raise RuntimeError(f"no way to open {machine} here")
        opened = self._open_host(machine)
        with self._lock:
            if not self._closed:
                self._sessions[machine] = opened
                return opened
        # The app closed while this host was opening: end it here, nothing may stay on the host.
        self._end(opened)
        raise RuntimeError(f"{machine}: the dashboard closed while connecting")

    def show(self, machine: str | None, opened: Opened) -> str | None:
        """Make the opened machine the one on show; returns the host whose session must now be closed (the
        one left; the caller ends it with close() off the UI thread), None when there is none."""
        left = self.on_show
        self.on_show = machine
        self._tried = machine
        self.sources = opened.sources
        return left if left is not None and left != machine else None

    def discard(self, machine: str | None) -> None:
        """Give up an opened machine that will not be shown (its session is closed, blocking)."""
        if machine is not None and machine != self.on_show:
            self.close(machine)

    def close(self, host: str) -> None:
        """End that host's session (blocking); a lost connection is kept in `lost`. Idempotent."""
        with self._lock:
            opened = self._sessions.pop(host, None)
        if opened is not None:
            self._end(opened)

    def close_all(self) -> None:
        """End every host session still open (at exit); later opens are ended at once. Idempotent."""
        with self._lock:
            self._closed = True
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for opened in sessions:
            self._end(opened)

    def _end(self, opened: Opened) -> None:
        why = opened.lost()
        if opened.close is not None:
            opened.close()
        if why:
            self.lost.append(why)

    @property
    def open_hosts(self) -> list[str]:
        """Hosts whose session is open now."""
        with self._lock:
            return list(self._sessions)
