"""The cores panel's grid for many cores: labelled rows, a mean and a history per row, cheap repaints;
and the simulated big machine the benchmark feeds it."""

from __future__ import annotations

import re
from typing import Any

from textual.app import App, ComposeResult

from gildash.engine.sampler import SimulatedCoreSampler
from gildash.ui.sources import SIMULATE_CORES_ENV, simulated_cores
from gildash.ui.widgets.cores import STRIP_EVERY, CoresPanel

ROW = re.compile(r"^cpu(\d+)-(\d+) +(\S+) +(\d+)% ")


class GridApp(App[None]):
    def __init__(self, cores: int) -> None:
        super().__init__()
        self.cores = cores

    def compose(self) -> ComposeResult:
        yield CoresPanel(self.cores)


def rows(panel: CoresPanel) -> list[tuple[int, int, str, int]]:
    found = []
    for line in panel.plain_text.splitlines()[1:]:
        match = ROW.match(line)
        assert match is not None, line
        found.append((int(match.group(1)), int(match.group(2)), match.group(3), int(match.group(4))))
    return found


async def test_every_core_is_in_one_labelled_row_with_its_mean() -> None:
    cores = 256
    load = tuple(100.0 if i < 32 else 0.0 for i in range(cores))
    app = GridApp(cores)
    async with app.run_test(size=(44, 40)) as pilot:
        panel = app.query_one(CoresPanel)
        for _ in range(STRIP_EVERY):
            panel.push(load)
        await pilot.pause()
        found = rows(panel)
        assert [(a, b) for a, b, _cells, _mean in found] == [(i, i + 15) for i in range(0, cores, 16)]
        assert all(len(cells) == 16 for _a, _b, cells, _mean in found)
        assert [mean for *_rest, mean in found] == [100, 100] + [0] * 14
        assert found[0][2] == "█" * 16 and found[2][2] == "░" * 16
        assert panel.plain_text.splitlines()[0].startswith("256 cores · 32.0 busy")


async def test_each_row_keeps_its_own_history() -> None:
    app = GridApp(64)
    async with app.run_test(size=(80, 20)) as pilot:
        panel = app.query_one(CoresPanel)
        for second in range(3):
            busy = 100.0 if second == 1 else 0.0
            for _ in range(STRIP_EVERY):
                panel.push(tuple(busy if i < 32 else 0.0 for i in range(64)))
        await pilot.pause()
        first, second_row = panel.plain_text.splitlines()[1:3]
        assert first.startswith("cpu0-31 ") and second_row.startswith("cpu32-63 ")
        # Row 0's strip: idle, busy, idle (newest right); row 1 was idle throughout.
        assert first.split("%", 1)[1].endswith("  █ ")
        assert not second_row.split("%", 1)[1].strip()


async def test_grid_repaints_only_when_a_second_completes(monkeypatch: Any) -> None:
    app = GridApp(256)
    sampler = SimulatedCoreSampler(256, seed=3)
    async with app.run_test(size=(60, 24)) as pilot:
        panel = app.query_one(CoresPanel)
        for _ in range(2 * STRIP_EVERY):
            panel.push(sampler.sample().percent)
        await pilot.pause()
        calls: list[tuple[Any, ...]] = []
        builds: list[int] = []
        original, build = panel.refresh, panel.build_lines

        def spy(*regions: Any, **kwargs: Any) -> Any:
            calls.append(regions)
            return original(*regions, **kwargs)

        def counted() -> Any:
            builds.append(1)
            return build()

        monkeypatch.setattr(panel, "refresh", spy)
        monkeypatch.setattr(panel, "build_lines", counted)
        for _ in range(STRIP_EVERY - 1):
            panel.push(sampler.sample().percent)
        # Numbers and cells show the last whole second: nothing new to draw, nothing even rebuilt.
        assert calls == [] and builds == []
        panel.push(sampler.sample().percent)
        assert len(builds) == 1
        assert len(calls) == 1 and all(region.height == 1 for region in calls[0])


def test_simulated_sampler_is_a_steady_big_machine() -> None:
    sampler = SimulatedCoreSampler(256, seed=1)
    samples = [sampler.sample().percent for _ in range(80)]
    assert all(len(s) == 256 and all(0.0 <= v <= 100.0 for v in s) for s in samples)
    assert any(v >= 90 for v in samples[0]) and any(v < 5 for v in samples[0])
    assert SimulatedCoreSampler(256, seed=1).sample().percent == samples[0]


def test_simulated_cores_env(monkeypatch: Any) -> None:
    for value, expected in (("256", 256), (" 64 ", 64), ("1", None), ("x", None), ("²", None), ("", None)):
        monkeypatch.setenv(SIMULATE_CORES_ENV, value)
        assert simulated_cores() == expected, value
