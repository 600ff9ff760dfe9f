"""The compare strip: the last run of each target that did the same work side by side (wall, effective
cores, overlap), and the headline ratio in large type ("py3.13t 2.0× faster than py3.11").

Draws one frozen Comparison (engine/compare.py); computes nothing itself.
"""

from __future__ import annotations

from textual.app import ComposeResult

from gildash.engine.compare import Comparison
from gildash.ui.widgets.gauge import CaptionedDigits
from gildash.ui.widgets.lines import Line, LineWidget, StateWidget


class CompareRows(LineWidget):
    """One line per target: wall, effective cores, overlap."""

    COMPONENT_CLASSES = {"compare--label", "compare--value"}
    PREFIX = "compare"
    ELLIPSIS_OVERFLOW = True
    DEFAULT_CSS = """
    CompareRows { width: 1fr; height: auto; }
    CompareRows > .compare--label { color: $foreground 60%; }
    CompareRows > .compare--value { text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = Comparison(())

    def build_lines(self) -> list[Line]:
        c = self.state
        if not c.rows:
            return [
                (("run two targets on the same work to compare them (r, then select another, r)", "label"),)
            ]
        lines: list[Line] = [((c.workload, "label"),)]
        for row in c.rows:
            cores = "–" if row.effective_cores is None else f"{row.effective_cores:.2f}"
            overlap = "–" if row.parallel_overlap is None else f"{100 * row.parallel_overlap:.0f}%"
            lines.append(
                (
                    (row.target_id.ljust(12), "value"),
                    (f"{row.wall_s:6.2f} s · {cores} cores · {overlap} overlap", ""),
                    (" · noisy machine" if row.noisy else "", "label"),
                )
            )
        return lines


class CompareStrip(StateWidget[Comparison]):
    """The rows and, beside them, the ratio in large type."""

    DEFAULT_CSS = """
    CompareStrip { height: auto; layout: horizontal; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Comparison(()), id=id)

    def compose(self) -> ComposeResult:
        yield CompareRows(id="compare-rows")
        yield CaptionedDigits("", id="compare-ratio")

    def draw(self) -> None:
        state = self.state
        rows = self.query_one(CompareRows)
        rows.state = state
        rows.changed()
        figure = self.query_one("#compare-ratio", CaptionedDigits)
        if state.ratio is None:
            figure.set("–", "no pair yet")
        else:
            figure.set(f"{state.ratio:.1f}×", f"{state.faster} faster than {state.slower}")

    @property
    def headline(self) -> str:
        """The ratio as one line ('py3.13t 2.0× faster than py3.11'; '' without a pair)."""
        c = self.state
        return "" if c.ratio is None else f"{c.faster} {c.ratio:.1f}× faster than {c.slower}"
