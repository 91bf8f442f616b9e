"""Right-sizing: the resources each step of a pipeline should ask for, from what it used.

The last ``N`` successful runs of a pipeline give, per step, the measured peak memory, CPU
time and wall time (:class:`~flowyml.records.usage.ResourceUsage`). From them:

- **CPU**: the busiest run's utilisation (CPU seconds / wall seconds), rounded up to
  quarter cores below one core and to whole cores above (a step 0.05 core over a whole
  number keeps it: measurements jitter).
- **memory**: the highest peak times the headroom (1.25 by default), rounded up to
  128 MiB.
- a step **OOM-killed** in a run of that window gets memory strictly above the limit it
  died at: twice the limit when it has not succeeded since, else the limit plus 128 MiB.
- a step with **no measurements** gets no suggestion, never a made-up figure.

What each remote backend would charge for the current and the suggested resources is
:mod:`flowyml.project.rightsize_machines`; writing the suggestions into ``flowyml.yaml``
is :mod:`flowyml.project.config_write`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from flowyml.errors import FlowyMLError
from flowyml.project.machine_fit import MachineFit
from flowyml.records.resources import ResourceConfig
from flowyml.records.status import ExecutionStatus
from flowyml.records.usage import ResourceUsage
from flowyml.storage.run_records import RunRecord
from flowyml.storage.run_store import RunStore

__all__ = [
    "DEFAULT_HEADROOM",
    "MEMORY_STEP",
    "Measured",
    "StepSizing",
    "effective_resources",
    "format_memory",
    "measure",
    "suggest",
    "suggested_cpu",
    "suggested_memory",
]

DEFAULT_HEADROOM = 1.25
MEMORY_STEP = 128 * 1024**2  # suggestions are whole multiples of 128 MiB
_CPU_TOLERANCE = 0.05  # cores over a whole number that still round down
_MIB = 1024**2


@dataclass(frozen=True)
class OomKill:
    """A step killed for exceeding its memory limit.

    Attributes:
        run_id: the run it died in.
        limit_bytes: the limit it died at, when known.
        succeeded_since: a later run of the window measured the step succeeding.
    """

    run_id: str
    limit_bytes: int | None
    succeeded_since: bool


@dataclass
class Measured:
    """What the window of runs measured for one step.

    Attributes:
        usages: one measurement per successful execution, newest run first.
        oom_kills: the kills of the window, newest first.
    """

    usages: list[ResourceUsage] = field(default_factory=list)
    oom_kills: list[OomKill] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Every figure is the step's own (not a share of a process other steps used)."""
        return all(u.exact for u in self.usages)

    def figures(self) -> dict[str, float | int | None]:
        """Median and max of peak memory, CPU seconds, wall seconds and utilisation."""
        peaks = [u.peak_memory_bytes for u in self.usages if u.peak_memory_bytes is not None]
        cpu = [u.cpu_seconds for u in self.usages]
        wall = [u.wall_seconds for u in self.usages]
        used = [u.cpu_seconds / u.wall_seconds for u in self.usages if u.wall_seconds > 0]
        return {
            "peak_memory_median": int(statistics.median(peaks)) if peaks else None,
            "peak_memory_max": max(peaks) if peaks else None,
            "cpu_seconds_median": statistics.median(cpu) if cpu else None,
            "cpu_seconds_max": max(cpu) if cpu else None,
            "wall_seconds_median": statistics.median(wall) if wall else None,
            "wall_seconds_max": max(wall) if wall else None,
            "utilisation_median": statistics.median(used) if used else None,
            "utilisation_max": max(used) if used else None,
        }


@dataclass
class StepSizing:
    """The measurements of one step, its current resources and the suggested ones.

    Attributes:
        step: the step's name.
        measured: what the window measured (no usages: nothing to suggest from).
        current: the resources the step asks for now on the chosen stack.
        suggested: the suggestion, or ``None`` without measurements.
        notes: why a figure is what it is (OOM kills, approximate figures...).
        machines: per backend with a machine catalog, the machines and the saving.
    """

    step: str
    measured: Measured
    current: ResourceConfig
    suggested: ResourceConfig | None
    notes: list[str] = field(default_factory=list)
    machines: list[MachineFit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``flowyml rightsize --json``)."""
        return {
            "step": self.step,
            "measurements": len(self.measured.usages),
            "exact": self.measured.exact if self.measured.usages else None,
            **self.measured.figures(),
            "oom_kills": [
                {"run_id": k.run_id, "limit_bytes": k.limit_bytes} for k in self.measured.oom_kills
            ],
            "current": self.current.model_dump(exclude_defaults=True),
            "suggested": None
            if self.suggested is None
            else self.suggested.model_dump(exclude_defaults=True),
            "notes": list(self.notes),
            "machines": [m.to_dict() for m in self.machines],
        }


def measure(
    run_store: RunStore, pipeline: str, runs: int
) -> tuple[list[RunRecord], dict[str, Measured]]:
    """The last ``runs`` successful runs of ``pipeline`` and what they measured per step.

    Runs that failed between them (newer than the oldest of the window; every run when
    fewer than ``runs`` succeeded) are read only for OOM kills. Cached and skipped steps
    measured nothing and are left out.

    Returns:
        The successful runs, newest first, and step name -> what was measured. Steps of
        the window appear even when nothing was measured for them.

    Raises:
        FlowyMLError: ``runs`` is below 1.
    """
    if runs < 1:
        raise FlowyMLError(f"--runs must be at least 1, got {runs}")
    window: list[RunRecord] = []
    failed: list[RunRecord] = []
    limit = runs * 4 + 20
    while True:
        recorded = run_store.list_runs(limit=limit, pipeline=pipeline)
        window, failed = [], []
        for run in recorded:  # newest first
            if len(window) == runs:
                break
            if run.status.is_successful:
                window.append(run)
            elif run.status.is_failed:
                failed.append(run)
        if len(window) == runs or len(recorded) < limit:
            break
        limit *= 4
    measured: dict[str, Measured] = {}
    succeeded_at: dict[str, float] = {}
    for run in sorted([*window, *failed], key=lambda r: r.started_at, reverse=True):
        for record in run_store.get_steps(run.run_id):
            entry = measured.setdefault(record.step, Measured())
            usage = record.usage
            if usage is not None and usage.oom_killed:
                limit_bytes = usage.memory_limit_bytes or usage.peak_memory_bytes
                later = succeeded_at.get(record.step, -math.inf) > run.started_at
                entry.oom_kills.append(OomKill(run.run_id, limit_bytes, later))
            elif _measured_success(usage, run, record.status, record.cached or record.skipped):
                entry.usages.append(usage)
                succeeded_at.setdefault(record.step, run.started_at)
    return window, measured


def _measured_success(
    usage: ResourceUsage | None, run: RunRecord, status: ExecutionStatus, reused: bool
) -> TypeGuard[ResourceUsage]:
    """A measurement of a step that ran and succeeded in a successful run."""
    return (
        run.status.is_successful
        and status is ExecutionStatus.SUCCESS
        and usage is not None
        and not reused
    )


def suggested_cpu(utilisation: float) -> float:
    """Cores for a step that kept ``utilisation`` cores busy: quarter cores below one,
    whole cores above (within a 0.05-core tolerance)."""
    if utilisation <= 1:
        return max(0.25, math.ceil(utilisation * 4 - 1e-9) / 4)
    return float(max(1, math.ceil(utilisation - _CPU_TOLERANCE)))


def suggested_memory(peak_bytes: int, headroom: float, floor_bytes: int = 0) -> int:
    """``peak_bytes`` times ``headroom``, at least ``floor_bytes``, rounded up to 128 MiB."""
    wanted = max(peak_bytes * headroom, floor_bytes, 1)
    return math.ceil(wanted / MEMORY_STEP) * MEMORY_STEP


def format_memory(size: int) -> str:
    """Bytes as a quantity ``ResourceConfig`` takes: ``"6Gi"``, ``"1536Mi"``."""
    mib = math.ceil(size / _MIB)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def suggest(
    measured: Measured, current: ResourceConfig, headroom: float = DEFAULT_HEADROOM
) -> tuple[ResourceConfig | None, list[str]]:
    """The resources a step should ask for, and notes on how they were found.

    GPUs are kept as they are: no GPU figure decides how many a step needs.

    Returns:
        ``None`` and a note when nothing was measured.
    """
    notes: list[str] = []
    usages = measured.usages
    floor, limit_note = _oom_floor(measured, current)
    if limit_note:
        notes.append(limit_note)
    if not usages and floor == 0:
        return None, ["no measurements: no successful run of the window recorded its usage"]
    figures = measured.figures()
    cpu = current.cpu
    if figures["utilisation_max"] is not None:
        cpu = suggested_cpu(float(figures["utilisation_max"]))
    peak = figures["peak_memory_max"]
    memory = current.memory
    if peak is not None or floor:
        memory = format_memory(suggested_memory(int(peak or 0), headroom, floor))
    elif usages:
        notes.append("no memory peak was measured: memory left as it is")
    if usages and not measured.exact:
        sources = sorted({u.source for u in usages if not u.exact})
        notes.append(
            f"approximate: measured in a process shared with other steps ({', '.join(sources)})"
        )
    if current.machine_type:
        notes.append(
            f"the step names machine_type {current.machine_type}, which cloud backends "
            "use before cpu and memory"
        )
    return ResourceConfig(cpu=cpu, memory=memory, gpu=current.gpu, gpu_type=current.gpu_type), notes


def _oom_floor(measured: Measured, current: ResourceConfig) -> tuple[int, str | None]:
    """The memory a suggestion must exceed after the window's OOM kills, and a note."""
    if not measured.oom_kills:
        return 0, None
    kill = max(measured.oom_kills, key=lambda k: k.limit_bytes or 0)
    limit = kill.limit_bytes or current.memory_bytes
    if limit is None:
        return 0, f"OOM-killed in run {kill.run_id} at an unknown limit: set memory by hand"
    unresolved = any(not k.succeeded_since for k in measured.oom_kills)
    floor = 2 * limit if unresolved else limit + MEMORY_STEP
    why = "twice that limit" if unresolved else "above that limit (it has succeeded since)"
    return floor, f"OOM-killed in run {kill.run_id} at {format_memory(limit)}: suggesting {why}"


def effective_resources(
    declared: ResourceConfig | None,
    configured: ResourceConfig | None,
    stack_default: ResourceConfig | None,
) -> ResourceConfig:
    """What a step asks for on a stack: the configuration's per-step fields over the
    decorator's, the stack's ``resources`` for what neither sets (as the run resolves it)."""
    own = declared or ResourceConfig()
    if configured is not None:
        own = configured.with_defaults(own)
    return own.with_defaults(stack_default)


def step_order(measured: Mapping[str, Measured], declared: Mapping[str, Any]) -> list[str]:
    """The pipeline's steps in its order, then steps only the runs know."""
    return [*declared, *(name for name in measured if name not in declared)]
