"""engine.catalog (workloads, headline figures, what each target kind runs) and the Target's own answers
(GIL mode, +gil twin, native baseline)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_sweep import make_run, make_target

from gildash.engine import catalog
from gildash.engine.interpreters import gil_twin as make_gil_twin
from gildash.engine.model import Target
from gildash.engine.runner import list_workloads


def test_catalog_lists_every_bundled_workload() -> None:
    assert sorted(catalog.WORKLOADS) == list_workloads()
    assert set(catalog.RUST_WORKLOADS) <= set(catalog.WORKLOADS)
    assert set(catalog.HEADLINES) <= set(catalog.WORKLOADS)
    assert catalog.SINGLE_WORKER <= set(catalog.WORKLOADS)


def test_headline_comes_from_the_summary_metrics() -> None:
    run = make_run("py3.11", 2, 1.0, workload="http_server", metrics={"requests_per_s": 812.5})
    found = catalog.headline_value(run)
    assert found is not None
    head, value = found
    assert (head.unit, value) == ("requests/s", 812.5)
    assert catalog.headline_value(replace(run, metrics={})) is None  # no figure: none invented
    assert catalog.headline_value(make_run("py3.11", 2, 1.0, workload="sum_squares")) is None


def test_queue_pipeline_headline_is_items_per_second_of_a_passing_run() -> None:
    run = make_run("py3.11", 2, 0.5, workload="queue_pipeline", size=1000)
    assert catalog.headline_value(run) == (catalog.HEADLINES["queue_pipeline"], 2000.0)
    assert (
        catalog.headline_value(make_run("py3.11", 2, 0.5, workload="queue_pipeline", status="failed")) is None
    )


def test_what_the_rust_baseline_runs() -> None:
    assert catalog.unsupported("rust", "sum_squares", "thread") is None
    assert "only runs" in (catalog.unsupported("rust", "io_bound", "thread") or "")
    assert "threads only" in (catalog.unsupported("rust", "primes", "process") or "")  # UI and CLI alike
    assert catalog.unsupported("python", "io_bound", "process") is None


def _ft(target_id: str = "py3.13t", **kw: object) -> Target:
    return replace(make_target(target_id), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "mode"),
    [
        (make_target("py3.11"), "gil"),
        (make_target("py3.13t"), "free-threaded"),
        (make_gil_twin(make_target("py3.13t")), "gil-forced"),
        (_ft(env=(("PYTHON_GIL", "1"),)), "gil-forced"),
        (make_target("rust"), "native"),
        (Target(id="custom", label="x", executable="/bin/x", kind="command"), "command"),
    ],
)
def test_gil_mode(target: Target, mode: str) -> None:
    assert target.gil_mode == mode


def test_gil_twin_is_found_by_executable_and_environment_not_by_id() -> None:
    free = make_target("py3.13t")
    forced = replace(make_gil_twin(free), id="whatever-name")
    other = replace(make_gil_twin(make_target("py3.14t")), id="py3.13t+gil")  # a misleading id
    other_env = replace(make_gil_twin(_ft(env=(("X", "1"),))), id="py3.13t+gil-2")  # same binary, other env
    targets = [free, other, other_env, forced]
    assert free.gil_twin(targets) == forced
    assert forced.gil_twin(targets) == free
    assert free.gil_twin([free, other, other_env]) is None
    assert make_target("py3.11").gil_twin(targets) is None


def test_native_baseline_is_the_rust_kind() -> None:
    assert make_target("rust").is_native_baseline
    assert not replace(make_target("py3.11"), id="rust").is_native_baseline
