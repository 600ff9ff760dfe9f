"""Helper process for the kill -9 test: the real dashboard (headless) over the live engine, recording to
argv[1], running sum_squares with a huge size and the process executor until it is killed."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path

from gildash.engine.model import RunSpec
from gildash.engine.runner import Run
from gildash.engine.sampler import CoreSampler
from gildash.ui.app import make_app
from gildash.ui.sources import RunLike, Sources

sys.path.insert(0, str(Path(__file__).parent))
from reliability_support import PY  # noqa: E402

HUGE = 10**12


def start_run(spec: RunSpec) -> RunLike:
    return Run(replace(spec, size=HUGE, executor="process", threads=2), noise_check=False)


async def main(record_dir: Path) -> None:
    sampler = CoreSampler()
    sources = Sources(
        targets=lambda: [PY],
        start_run=start_run,
        core_sampler=sampler.sample,
        cpu_count=2,
        clock=time.monotonic,
        record_dir=record_dir,
    )
    app = make_app(sources)
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.dashboard.targets:
            await pilot.pause(0.05)
        await pilot.press("r")
        print("pressed r", flush=True)
        while True:
            await pilot.pause(0.1)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
