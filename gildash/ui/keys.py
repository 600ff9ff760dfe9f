"""The dashboard's keys, in one list: the screen binds them, the help screen and the palette list them."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from gildash.ui.widgets.log_view import LogView

MAX_KEYED = 9
"""Targets reachable with the number keys."""

DASHBOARD_KEYS: list[BindingType] = [
    *[
        Binding(str(n), f"select_target({n - 1})", f"Target {n}", id=f"target.{n}", show=False)
        for n in range(1, MAX_KEYED + 1)
    ],
    Binding("r", "run", "Run", id="run.start"),
    Binding("x,escape", "stop", "Stop", id="run.stop"),
    Binding("s", "sweep", "Sweep", id="run.sweep"),
    Binding("S", "sweep(True)", "Sweep to 2× cores", id="run.sweep_wide", show=False),
    Binding("g", "toggle_gil", "GIL twin", id="target.gil_twin"),
    Binding("w", "setting('workload')", "Workload", id="config.workload"),
    Binding(
        "plus,equals_sign", "setting('threads_up')", "Workers +", id="config.threads_up", key_display="+"
    ),
    Binding(
        "minus", "setting('threads_down')", "Workers −", id="config.threads_down", key_display="-", show=False
    ),
    Binding("z", "setting('size')", "Size", id="config.size", show=False),
    Binding("p", "setting('executor')", "Threads/processes", id="config.executor", show=False),
    Binding("v", "setting('variant')", "Contention variant", id="config.variant", show=False),
    Binding("i", "setting('switch_interval')", "Switch interval", id="config.switch_interval", show=False),
    Binding("t", "zoom", "Timeline zoom", id="view.zoom", show=False),
    Binding("f", "stage", "Stage layout", id="view.stage"),
    Binding("j", "raw_log", "Raw JSON log", id="view.raw_log", show=False),
    Binding("n", "replay_next", "Next recorded run", id="replay.next", show=False),
    Binding("space", "replay_pause", "Pause replay", id="replay.pause", show=False),
    Binding("right_square_bracket", "replay_speed(2.0)", "Replay faster", id="replay.faster", show=False),
    Binding("left_square_bracket", "replay_speed(0.5)", "Replay slower", id="replay.slower", show=False),
    # The log's own keys, bound on the screen too: they work whatever has the focus.
    *[
        Binding(b.key, f"log('{b.action}')", b.description, id=f"dash.{b.id}", show=False)
        for b in LogView.BINDINGS
        if isinstance(b, Binding)
    ],
]
"""Every key of the main screen (ids are stable: the help screen and palette are generated from them)."""
