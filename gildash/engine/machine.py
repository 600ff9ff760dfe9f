"""The machine's part of the story: cores, SMT siblings, CPU model, clocks, governor, load, Python and OS.

Owns the MachineFacts shape, the reader (the host agent's reader of /sys and /proc, roots injectable for
tests; it never raises: what the OS does not say is None, shown as "not reported"), the dict round trip
used by recordings, exports and the agent's hello, and the typed warnings a run's thread count raises
against the facts. Never imports textual, never imports engine.model (model imports this module).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from gildash import hostagent

NOT_REPORTED = "not reported"
"""What a fact the OS does not report reads as."""

SYS_ROOT = Path("/sys")
PROC_ROOT = Path("/proc")


@dataclass(frozen=True)
class CpuFacts:
    """One logical CPU as the OS describes it."""

    cpu: int
    """Logical CPU number (cpuN in /sys)."""
    package: int | None
    """Physical package (socket) id; None when not reported."""
    core: int | None
    """Core id within its package; None when not reported."""
    siblings: tuple[int, ...]
    """Logical CPUs sharing this CPU's physical core, itself included (SMT siblings); () when unknown."""
    current_mhz: float | None
    """Current clock in MHz from cpufreq; None when not reported (common on VMs)."""
    max_mhz: float | None
    """Highest clock the core may reach in MHz (cpuinfo_max_freq); None when not reported."""
    governor: str | None
    """cpufreq scaling governor (performance, powersave, schedutil ...); None when not reported."""


@dataclass(frozen=True)
class MachineFacts:
    """What the machine looked like when a run started; every unknown is None, never a guess."""

    logical_cores: int | None
    """Logical CPUs the OS has (os.cpu_count())."""
    physical_cores: int | None
    """Distinct physical cores among the logical CPUs in /sys; None when the topology is not reported."""
    smt_per_core: int | None
    """Most logical CPUs on one physical core (2 with SMT/Hyper-Threading, 1 without); None when unknown."""
    usable_cpus: tuple[int, ...] | None
    """CPUs this process may run on (its affinity); None where the OS does not say."""
    cpu_model: str | None
    """CPU model name, e.g. 'AMD EPYC'; None when not reported."""
    cpus: tuple[CpuFacts, ...]
    """One entry per logical CPU found in /sys, by CPU number; () where /sys has no CPU topology."""
    load_average: tuple[float, float, float] | None
    """1, 5 and 15 minute load averages; None where the OS does not report them."""
    python: str
    """The interpreter gildash itself runs on, e.g. 'CPython 3.11.7'."""
    os: str
    """platform.platform(), e.g. 'Linux-6.8.0-x86_64-with-glibc2.39'."""
    taken_at: float
    """Unix time the facts were read."""

    @property
    def governors(self) -> tuple[str, ...]:
        """The distinct governors the CPUs report, sorted (empty when none is reported)."""
        return tuple(sorted({c.governor for c in self.cpus if c.governor}))

    @property
    def usable_physical_cores(self) -> int | None:
        """Physical cores among the usable CPUs (all CPUs when the affinity is unknown)."""
        usable = set(self.usable_cpus) if self.usable_cpus is not None else None
        cores = {_core_key(c) for c in self.cpus if usable is None or c.cpu in usable}
        cores.discard(None)
        return len(cores) if cores else None

    @property
    def usable_logical_cores(self) -> int | None:
        """Logical CPUs this process may use (affinity, else all)."""
        return len(self.usable_cpus) if self.usable_cpus is not None else self.logical_cores

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists when dumped); machine_from_dict is the inverse."""
        return asdict(self)


def _core_key(c: CpuFacts) -> tuple[Any, ...] | None:
    """What identifies c's physical core: its sibling set, else (package, core id)."""
    if c.siblings:
        return ("siblings", *sorted(c.siblings))
    if c.core is not None:
        return ("id", c.package, c.core)
    return None


# --- reading -------------------------------------------------------------------------------------


def parse_cpu_list(text: str | None) -> tuple[int, ...]:
    """'0-3,8,10-11' -> (0, 1, 2, 3, 8, 10, 11); () for empty or malformed text."""
    return tuple(hostagent.parse_cpu_list(text))


def read_machine(
    sys_root: Path = SYS_ROOT, proc_root: Path = PROC_ROOT, *, affinity: tuple[int, ...] | None | bool = True
) -> MachineFacts:
    """The machine's facts right now; never raises (anything unreadable is None / "not reported").

    The host agent's reader does the reading, so a host over ssh and this machine are read alike.
    affinity=True reads this process's affinity; pass a tuple (or None) to fix it, as tests do.
    """
    facts = _from_mapping(hostagent.machine_facts(str(sys_root), str(proc_root)))
    return facts if affinity is True else replace(facts, usable_cpus=affinity or None)


# --- dict round trip -----------------------------------------------------------------------------


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ints(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool))


def _cpu_from_dict(data: Any) -> CpuFacts | None:
    if not isinstance(data, Mapping) or _opt_int(data.get("cpu")) is None:
        return None
    return CpuFacts(
        cpu=data["cpu"],
        package=_opt_int(data.get("package")),
        core=_opt_int(data.get("core")),
        siblings=_ints(data.get("siblings")),
        current_mhz=_opt_float(data.get("current_mhz")),
        max_mhz=_opt_float(data.get("max_mhz")),
        governor=_opt_str(data.get("governor")),
    )


def machine_from_dict(data: Any) -> MachineFacts | None:
    """Inverse of MachineFacts.to_dict; None for anything that is not such a dict (never raises)."""
    return _from_mapping(data) if isinstance(data, Mapping) else None


def _from_mapping(data: Mapping[str, Any]) -> MachineFacts:
    raw_cpus = data.get("cpus")
    cpus = tuple(c for c in map(_cpu_from_dict, raw_cpus if isinstance(raw_cpus, list | tuple) else ()) if c)
    load = data.get("load_average")
    raw_loads = [_opt_float(x) for x in load] if isinstance(load, list | tuple) and len(load) == 3 else []
    loads = [x for x in raw_loads if x is not None]
    usable = data.get("usable_cpus")
    return MachineFacts(
        logical_cores=_opt_int(data.get("logical_cores")),
        physical_cores=_opt_int(data.get("physical_cores")),
        smt_per_core=_opt_int(data.get("smt_per_core")),
        usable_cpus=_ints(usable) if isinstance(usable, list | tuple) else None,
        cpu_model=_opt_str(data.get("cpu_model")),
        cpus=cpus,
        load_average=(loads[0], loads[1], loads[2]) if len(loads) == 3 else None,
        python=_opt_str(data.get("python")) or "",
        os=_opt_str(data.get("os")) or "",
        taken_at=_opt_float(data.get("taken_at")) or 0.0,
    )


# --- words for people ----------------------------------------------------------------------------


def _mhz_text(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return NOT_REPORTED
    lo, hi = min(known), max(known)
    text = f"{lo / 1000:.2f} GHz" if lo == hi else f"{lo / 1000:.2f}–{hi / 1000:.2f} GHz"
    missing = len(values) - len(known)
    return text + (f" ({missing} CPUs not reported)" if missing else "")


def fact_rows(facts: MachineFacts) -> tuple[tuple[str, str], ...]:
    """(label, value) rows for a table (`gildash machine`, a run panel): unknowns read "not reported"."""

    def show(value: object) -> str:
        return NOT_REPORTED if value is None else str(value)

    usable = facts.usable_cpus
    load = facts.load_average
    return (
        ("CPU model", show(facts.cpu_model)),
        ("logical CPUs", show(facts.logical_cores)),
        ("physical cores", show(facts.physical_cores)),
        ("SMT threads per core", show(facts.smt_per_core)),
        ("usable CPUs", NOT_REPORTED if usable is None else ",".join(map(str, usable)) or "none"),
        ("current clock", _mhz_text([c.current_mhz for c in facts.cpus]) if facts.cpus else NOT_REPORTED),
        ("max clock", _mhz_text([c.max_mhz for c in facts.cpus]) if facts.cpus else NOT_REPORTED),
        ("governor", ", ".join(facts.governors) or NOT_REPORTED),
        ("load average", NOT_REPORTED if load is None else " ".join(f"{x:.2f}" for x in load)),
        ("Python", facts.python or NOT_REPORTED),
        ("OS", facts.os or NOT_REPORTED),
    )


# --- warnings ------------------------------------------------------------------------------------

MachineWarningKind = Literal["oversubscribed", "smt-siblings", "governor", "load"]


@dataclass(frozen=True)
class MachineWarning:
    """One typed warning about the machine a run used, telling the user what to do."""

    kind: MachineWarningKind
    """oversubscribed (threads > usable CPUs), smt-siblings (threads > physical cores), governor, load."""
    message: str
    """One line for the user, ending with the remedy."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def machine_warnings(facts: MachineFacts, threads: int) -> list[MachineWarning]:
    """What about the machine may distort a run with `threads` workers, most serious first.

    Read the facts before a run (or before a sweep's first run): the load average counts gildash's
    own earlier runs too, which the message says.
    """
    out: list[MachineWarning] = []
    logical = facts.usable_logical_cores
    physical = facts.usable_physical_cores
    if logical is not None and threads > logical:
        out.append(
            MachineWarning(
                "oversubscribed",
                f"{_plural(threads, 'thread')} on {_plural(logical, 'usable CPU')}: oversubscribed, the "
                f"threads take turns; use at most {logical} threads to measure scaling",
            )
        )
    elif physical is not None and threads > physical:
        out.append(
            MachineWarning(
                "smt-siblings",
                f"{_plural(threads, 'thread')} on {_plural(physical, 'physical core')}: threads exceed "
                f"physical cores, so some run on SMT siblings that share a core's execution units; "
                f"expect well under {threads}×, use at most {physical} threads for clean scaling",
            )
        )
    slow = [g for g in facts.governors if g != "performance"]
    if slow:
        out.append(
            MachineWarning(
                "governor",
                f"governor {', '.join(slow)}: clocks follow the load, so short and 1-thread runs may run "
                "at a lower clock; set the performance governor for steadier numbers",
            )
        )
    load = facts.load_average
    # Other work queues the run's threads behind it; a run that alone exceeds the CPUs is the
    # oversubscribed warning's business, not the load's (blaming "other programs" would mislead).
    busy = load is not None and load[0] >= 0.5
    if load is not None and logical is not None and busy and load[0] + min(threads, logical) > logical + 0.5:
        out.append(
            MachineWarning(
                "load",
                f"load average {load[0]:.1f} before the run (other programs, or earlier runs of this "
                f"sweep) with {_plural(threads, 'thread')} on {_plural(logical, 'CPU')}: expect slower, "
                "noisier numbers; close other programs and rerun",
            )
        )
    return out
