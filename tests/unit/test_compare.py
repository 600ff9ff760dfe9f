"""The compare strip's figures: same work only, newest run per target, the headline ratio."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

from fakes import PY311, PY313T, RUST, make_result  # noqa: E402

from gildash.engine.compare import compare  # noqa: E402
from gildash.engine.model import RunSpec  # noqa: E402


def run(target, wall, threads=2, size=1000, run_id="r"):  # type: ignore[no-untyped-def]
    return make_result(RunSpec(target, "sum_squares", threads, size), f"{run_id}-{target.id}", wall=wall)


def test_ratio_of_the_shown_run_against_the_most_different_target() -> None:
    gil, ft = run(PY311, 2.0), run(PY313T, 1.0)
    c = compare([gil], ft)
    assert [r.target_id for r in c.rows] == ["py3.11", "py3.13t"]
    assert (c.faster, c.slower, c.ratio) == ("py3.13t", "py3.11", 2.0)


def test_other_work_never_enters_the_comparison() -> None:
    other_size = run(PY311, 9.0, size=5)
    other_threads = run(RUST, 0.1, threads=1)
    failed = replace(run(PY311, 0.5), ok=False, status="failed")
    c = compare([other_size, other_threads, failed], run(PY313T, 1.0))
    assert [r.target_id for r in c.rows] == ["py3.13t"] and c.ratio is None


def test_newest_run_per_target_wins() -> None:
    c = compare([run(PY311, 4.0, run_id="a"), run(PY311, 2.0, run_id="b")], run(PY313T, 1.0))
    assert c.ratio == 2.0


def test_nothing_to_compare_without_an_ok_shown_run() -> None:
    assert compare([run(PY311, 1.0)], None).rows == ()
