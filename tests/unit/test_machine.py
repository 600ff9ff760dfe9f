"""Machine facts from fake /sys and /proc trees: topology, SMT, clocks, governor, load, the dict round trip
(also through a RunResult's recording form) and the typed warnings a thread count raises."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gildash.engine.machine import (
    NOT_REPORTED,
    MachineFacts,
    fact_rows,
    machine_from_dict,
    machine_warnings,
    parse_cpu_list,
    read_machine,
)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def fake_roots(
    tmp_path: Path,
    *,
    cores: int,
    smt: int,
    freq: tuple[int, int] | None = None,
    governor: str | None = None,
    loadavg: str | None = "0.10 0.20 0.30 1/100 42",
    model: str = "Fake CPU 9000",
) -> tuple[Path, Path]:
    """A /sys and /proc with cores x smt logical CPUs; siblings are (c, c + cores) like Linux numbers them."""
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    base = sys_root / "devices" / "system" / "cpu"
    logical = cores * smt
    _write(base / "online", f"0-{logical - 1}")
    for cpu in range(logical):
        core = cpu % cores
        siblings = ",".join(str(core + k * cores) for k in range(smt))
        topo = base / f"cpu{cpu}" / "topology"
        _write(topo / "physical_package_id", "0")
        _write(topo / "core_id", str(core))
        _write(topo / "thread_siblings_list", siblings)
        if freq is not None:
            _write(base / f"cpu{cpu}" / "cpufreq" / "scaling_cur_freq", str(freq[0]))
            _write(base / f"cpu{cpu}" / "cpufreq" / "cpuinfo_max_freq", str(freq[1]))
        if governor is not None:
            _write(base / f"cpu{cpu}" / "cpufreq" / "scaling_governor", governor)
    _write(base / "cpufreq" / "policy-placeholder", "")  # a non-cpuN entry must be ignored
    cpuinfo = "\n".join(f"processor\t: {n}\nmodel name\t: {model}\n" for n in range(logical))
    _write(proc_root / "cpuinfo", cpuinfo)
    if loadavg is not None:
        _write(proc_root / "loadavg", loadavg)
    return sys_root, proc_root


def test_vm_without_cpufreq_reports_clocks_as_not_reported(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(tmp_path, cores=2, smt=1)
    facts = read_machine(sys_root, proc_root, affinity=(0, 1))
    assert facts.physical_cores == 2 and facts.smt_per_core == 1
    assert facts.cpu_model == "Fake CPU 9000"
    assert [c.current_mhz for c in facts.cpus] == [None, None]
    assert facts.governors == ()
    assert facts.load_average == (0.10, 0.20, 0.30)
    rows = dict(fact_rows(facts))
    assert rows["current clock"] == NOT_REPORTED and rows["max clock"] == NOT_REPORTED
    assert rows["governor"] == NOT_REPORTED
    assert rows["physical cores"] == "2" and rows["usable CPUs"] == "0,1"


def test_smt_topology_frequencies_and_governor(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(
        tmp_path, cores=2, smt=2, freq=(1_800_000, 3_500_000), governor="powersave"
    )
    facts = read_machine(sys_root, proc_root, affinity=(0, 1, 2, 3))
    assert facts.physical_cores == 2 and facts.smt_per_core == 2
    assert facts.cpus[0].siblings == (0, 2)
    assert facts.cpus[3].current_mhz == 1800.0 and facts.cpus[3].max_mhz == 3500.0
    rows = dict(fact_rows(facts))
    assert rows["current clock"] == "1.80 GHz" and rows["max clock"] == "3.50 GHz"
    assert rows["governor"] == "powersave"


def test_reader_never_raises_on_missing_or_garbage_trees(tmp_path: Path) -> None:
    facts = read_machine(tmp_path / "no-sys", tmp_path / "no-proc", affinity=None)
    assert facts.cpus == () and facts.physical_cores is None and facts.smt_per_core is None
    assert facts.cpu_model is None and facts.load_average is None and facts.usable_cpus is None
    assert dict(fact_rows(facts))["physical cores"] == NOT_REPORTED
    sys_root, proc_root = fake_roots(tmp_path / "bad", cores=1, smt=1, loadavg="high load")
    base = sys_root / "devices" / "system" / "cpu" / "cpu0"
    _write(base / "topology" / "core_id", "zero")
    _write(base / "topology" / "thread_siblings_list", "0-x")
    _write(base / "cpufreq" / "scaling_cur_freq", "fast")
    facts = read_machine(sys_root, proc_root, affinity=(0,))
    assert facts.load_average is None
    assert facts.cpus[0].core is None and facts.cpus[0].current_mhz is None
    # one CPU whose core cannot be told: no physical-core count rather than a wrong one
    assert facts.physical_cores is None


def test_offline_cpus_are_left_out(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(tmp_path, cores=4, smt=1)
    _write(sys_root / "devices" / "system" / "cpu" / "online", "0-1,3")
    facts = read_machine(sys_root, proc_root, affinity=None)
    assert [c.cpu for c in facts.cpus] == [0, 1, 3] and facts.physical_cores == 3


def test_real_machine_reads_without_raising() -> None:
    facts = read_machine()
    assert facts.python and facts.os and facts.taken_at > 0
    assert machine_from_dict(json.loads(json.dumps(facts.to_dict()))) == facts


def test_cpu_list_parser() -> None:
    assert parse_cpu_list("0-3,8,10-11") == (0, 1, 2, 3, 8, 10, 11)
    assert parse_cpu_list("") == () and parse_cpu_list(None) == () and parse_cpu_list("a-b") == ()


def test_dict_round_trip_through_json_and_garbage(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(
        tmp_path, cores=2, smt=2, freq=(1_000_000, 2_000_000), governor="schedutil"
    )
    facts = read_machine(sys_root, proc_root, affinity=(0, 2))
    again = machine_from_dict(json.loads(json.dumps(facts.to_dict())))
    assert again == facts
    assert machine_from_dict(None) is None and machine_from_dict([1, 2]) is None
    partial = machine_from_dict(
        {"logical_cores": "two", "cpus": [{"cpu": "x"}, {"cpu": 1}], "load_average": [1]}
    )
    assert partial is not None
    assert (
        partial.logical_cores is None
        and [c.cpu for c in partial.cpus] == [1]
        and partial.load_average is None
    )


def test_run_result_carries_the_facts_through_its_recording_form(tmp_path: Path) -> None:
    from dataclasses import replace

    from gildash.engine.recording import result_from_json, to_json
    from tests.unit.test_sweep import make_run

    sys_root, proc_root = fake_roots(tmp_path, cores=1, smt=2)
    facts = read_machine(sys_root, proc_root, affinity=(0, 1))
    run = make_run("py3.13t", 2, 0.5)
    assert run.machine is None
    with_facts = replace(run, machine=facts)
    back = result_from_json(json.loads(json.dumps(to_json(with_facts))))
    assert back.machine == facts and back == with_facts
    assert result_from_json(json.loads(json.dumps(to_json(run)))).machine is None


def _kinds(facts: MachineFacts, threads: int) -> list[str]:
    return [w.kind for w in machine_warnings(facts, threads)]


def test_smt_siblings_warning_when_threads_exceed_physical_cores(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(tmp_path, cores=1, smt=2)
    facts = read_machine(sys_root, proc_root, affinity=(0, 1))
    assert _kinds(facts, 1) == []
    warnings = machine_warnings(facts, 2)
    assert [w.kind for w in warnings] == ["smt-siblings"]
    assert warnings[0].message.startswith("2 threads on 1 physical core: ")
    assert "SMT siblings" in warnings[0].message


def test_smt_counts_only_the_cores_the_affinity_allows(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(tmp_path, cores=2, smt=2)
    # CPUs 0 and 2 are the two siblings of core 0: two threads share one core
    pinned = read_machine(sys_root, proc_root, affinity=(0, 2))
    assert _kinds(pinned, 2) == ["smt-siblings"]
    spread = read_machine(sys_root, proc_root, affinity=(0, 1))
    assert _kinds(spread, 2) == []


def test_oversubscribed_governor_and_load_warnings(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(
        tmp_path, cores=2, smt=1, governor="powersave", loadavg="1.80 1.00 0.50 2/99 7"
    )
    facts = read_machine(sys_root, proc_root, affinity=(0, 1))
    warnings = machine_warnings(facts, 4)
    assert [w.kind for w in warnings] == ["oversubscribed", "governor", "load"]
    assert warnings[0].message.startswith("4 threads on 2 usable CPUs: oversubscribed")
    assert "governor powersave" in warnings[1].message
    assert warnings[2].message.startswith("load average 1.8 before the run")
    performance, _ = fake_roots(tmp_path / "p", cores=2, smt=1, governor="performance")
    quiet = read_machine(performance, proc_root.parent / "quiet", affinity=(0, 1))
    assert _kinds(quiet, 2) == []


@pytest.mark.parametrize(
    ("load", "threads", "warned"), [(0.4, 2, False), (0.6, 2, True), (1.4, 1, False), (1.6, 1, True)]
)
def test_load_warns_when_queued_work_exceeds_the_cpus(
    tmp_path: Path, load: float, threads: int, warned: bool
) -> None:
    sys_root, proc_root = fake_roots(tmp_path, cores=2, smt=1, loadavg=f"{load} 0 0 1/1 1")
    facts = read_machine(sys_root, proc_root, affinity=(0, 1))
    assert ("load" in _kinds(facts, threads)) is warned
    assert math.isclose(facts.load_average[0] if facts.load_average else -1, load)


def test_a_run_that_alone_exceeds_the_cpus_is_not_blamed_on_load(tmp_path: Path) -> None:
    sys_root, proc_root = fake_roots(tmp_path, cores=2, smt=1, loadavg="0.40 0.30 0.20 1/100 42")
    facts = read_machine(sys_root, proc_root, affinity=False)
    kinds = {w.kind for w in machine_warnings(facts, 3)}
    assert "load" not in kinds  # 3 threads on 2 CPUs with an idle machine: oversubscribed, not "load"
    busy_root, busy_proc = fake_roots(tmp_path / "busy", cores=2, smt=1, loadavg="1.60 1.00 0.50 3/100 42")
    assert "load" in {w.kind for w in machine_warnings(read_machine(busy_root, busy_proc, affinity=False), 2)}
