"""What the user is choosing: the size presets a dashboard cycles through and one frozen RunSettings value.

`RunSettings.to_spec(target)` is the only way a selection becomes a RunSpec; what is *running* is always
that RunSpec (see engine/session.py), never these settings. Never imports textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gildash.engine.catalog import CONTENTION_VARIANTS, MAX_THREADS, WORKLOADS, unsupported, variant_args
from gildash.engine.model import Executor, RunSpec, Target


@dataclass(frozen=True)
class SizePreset:
    """One of a workload's small / medium / large sizes."""

    name: str
    """small, medium or large."""
    size: int | None
    """--size (None: the workload's default)."""
    extra_args: tuple[str, ...] = ()
    """Further flags (http_server is sized by --duration)."""
    note: str = ""
    """What the size means, for the run panel (e.g. '10M per thread')."""


SWITCH_INTERVALS_S: tuple[float, ...] = (0.0005, 0.001, 0.005, 0.02)
"""Switch intervals `i` cycles through after the interpreter's own (CPython's default is 5 ms)."""

SIZE_NAMES: tuple[str, ...] = ("small", "medium", "large")
"""Size presets `z` cycles through."""


def _short(n: int) -> str:
    """10_000_000 -> '10M', 450_000 -> '450k', 1_200_000 -> '1.2M', 16 -> '16'."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale:
            return f"{n / scale:g}{unit}"
    return str(n)


def _sized(sizes: tuple[int, int, int], note: str) -> tuple[SizePreset, SizePreset, SizePreset]:
    """small/medium/large presets of these sizes; `note` says what one means ('{} per thread')."""
    small, medium, large = (
        SizePreset(n, s, note=note.format(_short(s))) for n, s in zip(SIZE_NAMES, sizes, strict=True)
    )
    return small, medium, large


def _timed(seconds: tuple[str, str, str]) -> tuple[SizePreset, SizePreset, SizePreset]:
    """small/medium/large presets of a workload sized by --duration."""
    small, medium, large = (
        SizePreset(n, None, ("--duration", d), note=f"{d} s of load")
        for n, d in zip(SIZE_NAMES, seconds, strict=True)
    )
    return small, medium, large


# Measured on the 2-core dev box with CPython 3.11 at 1 thread: about 0.5 s / 2 s / 6 s of wall each.
PRESETS: dict[str, tuple[SizePreset, SizePreset, SizePreset]] = {
    "sum_squares": _sized((10_000_000, 40_000_000, 120_000_000), "{} per thread"),
    "primes": _sized((450_000, 1_200_000, 2_400_000), "primes < {}, split"),
    "io_bound": _sized((16, 64, 192), "{} file ops, split"),
    "single_thread": _sized((6_000_000, 24_000_000, 72_000_000), "{} loop"),
    "queue_pipeline": _sized((40_000, 150_000, 450_000), "{} items, split"),
    "http_server": _timed(("0.5", "2", "6")),
    "contention": _sized((1_000_000, 4_000_000, 12_000_000), "{} items per thread"),
}
"""Size presets per workload."""


def preset(workload: str, size_name: str) -> SizePreset:
    """The preset of a workload by size name (the workload default when unknown)."""
    for p in PRESETS.get(workload, ()):
        if p.name == size_name:
            return p
    return SizePreset(size_name, None, note="default size")


@dataclass(frozen=True)
class RunSettings:
    """The selection: what `r` would run next (not what is running)."""

    workload: str = "sum_squares"
    """Workload name."""
    threads: int = 2
    """Worker count."""
    size_name: str = "medium"
    """small, medium or large (a preset of the workload)."""
    executor: Executor = "thread"
    """thread or process."""
    switch_interval_s: float | None = None
    """sys.setswitchinterval for Python workloads (None: the interpreter's own)."""
    variant: tuple[str, str] = CONTENTION_VARIANTS[0]
    """The contention workload's (pattern, own|shared) (ignored by the other workloads)."""

    @property
    def preset(self) -> SizePreset:
        """The size preset these settings name."""
        return preset(self.workload, self.size_name)

    @property
    def workload_args(self) -> tuple[str, ...]:
        """The workload flags these settings add: the size preset's (http_server's --duration) and the
        contention variant's."""
        return self.preset.extra_args + variant_args(self.workload, self.variant)

    def to_spec(self, target: Target) -> RunSpec:
        """The RunSpec these settings give for a target."""
        p = self.preset
        return RunSpec(
            target,
            self.workload,
            self.threads,
            p.size,
            self.executor,
            extra_args=self.workload_args,
            switch_interval_s=self.switch_interval_s,
        )

    def next_workload(self) -> RunSettings:
        """The next workload in catalog.WORKLOADS order."""
        i = WORKLOADS.index(self.workload) if self.workload in WORKLOADS else -1
        return replace(self, workload=WORKLOADS[(i + 1) % len(WORKLOADS)])

    def next_size(self) -> RunSettings:
        """The next size preset (small, medium, large)."""
        i = SIZE_NAMES.index(self.size_name) if self.size_name in SIZE_NAMES else -1
        return replace(self, size_name=SIZE_NAMES[(i + 1) % len(SIZE_NAMES)])

    def with_threads(self, step: int) -> RunSettings:
        """More or fewer workers (1..MAX_THREADS)."""
        return replace(self, threads=max(1, min(MAX_THREADS, self.threads + step)))

    def next_variant(self) -> RunSettings:
        """The contention workload's next (pattern, own|shared)."""
        i = CONTENTION_VARIANTS.index(self.variant) if self.variant in CONTENTION_VARIANTS else -1
        return replace(self, variant=CONTENTION_VARIANTS[(i + 1) % len(CONTENTION_VARIANTS)])

    def next_switch_interval(self) -> RunSettings:
        """The next switch interval: the interpreter's own (None), then each of SWITCH_INTERVALS_S."""
        cycle: tuple[float | None, ...] = (None, *SWITCH_INTERVALS_S)
        i = cycle.index(self.switch_interval_s) if self.switch_interval_s in cycle else 0
        return replace(self, switch_interval_s=cycle[(i + 1) % len(cycle)])

    def other_executor(self) -> RunSettings:
        """Threads <-> processes."""
        return replace(self, executor="process" if self.executor == "thread" else "thread")


def default_selection(targets: Sequence[Target]) -> int:
    """The target selected after discovery: the interpreter running gildash, else the first available."""
    for i, t in enumerate(targets):
        if t.available and t.source == "current":
            return i
    return next((i for i, t in enumerate(targets) if t.available), 0)


@dataclass(frozen=True)
class Selection:
    """Everything the user is choosing: the targets on offer, the one selected, and the run settings."""

    targets: tuple[Target, ...] = ()
    """Targets on offer, in display order."""
    index: int = 0
    """Position of the selected target in `targets`."""
    settings: RunSettings = RunSettings()
    """What a run of the selected target would be."""

    @property
    def target(self) -> Target | None:
        """The selected target (None before discovery)."""
        return self.targets[self.index] if 0 <= self.index < len(self.targets) else None

    def with_targets(self, targets: Sequence[Target], index: int | None = None) -> Selection:
        """New targets on offer; the default one selected unless `index` is given."""
        chosen = default_selection(targets) if index is None else index
        return replace(self, targets=tuple(targets), index=chosen if targets else 0)

    def select(self, index: int) -> Selection | None:
        """Target `index` selected (None when there is no such target)."""
        return replace(self, index=index) if 0 <= index < len(self.targets) else None

    def select_id(self, target_id: str) -> Selection:
        """The target with this id selected (unchanged when absent)."""
        for i, t in enumerate(self.targets):
            if t.id == target_id:
                return replace(self, index=i)
        return self

    def gil_twin(self) -> Selection | None:
        """The selected target's GIL twin selected (None when it has none)."""
        target = self.target
        twin = target.gil_twin(self.targets) if target is not None else None
        return self.select_id(twin.id) if twin is not None else None

    def refusal(self) -> str | None:
        """Why `r` cannot run the selection now (None: it can)."""
        target = self.target
        if target is None:
            return "still discovering interpreters…"
        if not target.available:
            return f"{target.id} is unavailable: {target.reason}"
        return unsupported(target.kind, self.settings.workload, self.settings.executor)

    def spec(self, target: Target | None = None) -> RunSpec | None:
        """The RunSpec `r` would start for `target` (default: the selected one)."""
        target = target or self.target
        return self.settings.to_spec(target) if target is not None else None
