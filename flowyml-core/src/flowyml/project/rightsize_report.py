"""``flowyml rightsize``'s answer for one pipeline: every step's measurements, current and
suggested resources, and the machines and prices of each priced backend.

The analysis is :mod:`flowyml.project.rightsize`, the machines
:mod:`flowyml.project.machine_fit`; this module puts them together for a project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowyml.definition.pipeline import PipelineDefinition
from flowyml.definition.references import load_reference
from flowyml.errors import FlowyMLError
from flowyml.project.folder import Project
from flowyml.project.machine_fit import PricedBackend, fit_machines, priced_backends
from flowyml.project.rightsize import (
    DEFAULT_HEADROOM,
    Measured,
    StepSizing,
    effective_resources,
    measure,
    step_order,
    suggest,
)
from flowyml.records.resources import ResourceConfig

__all__ = ["RightsizeReport", "recorded_pipelines", "rightsize_pipeline"]


@dataclass
class RightsizeReport:
    """The right-sizing of one pipeline.

    Attributes:
        pipeline: the pipeline's name.
        stack: the stack whose resources are the current ones.
        headroom: the factor over the highest memory peak.
        runs: the successful runs measured, newest first.
        steps: one entry per step.
        backends: the priced backends the machines come from.
        notes: what the reader should know about the whole report.
    """

    pipeline: str
    stack: str
    headroom: float
    runs: list[str]
    steps: list[StepSizing]
    backends: list[PricedBackend] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def suggestions(self) -> dict[str, ResourceConfig]:
        """Step name -> the CPU and memory to write into the configuration; steps whose
        suggestion would change nothing are left out."""
        found: dict[str, ResourceConfig] = {}
        for sizing in self.steps:
            suggested = sizing.suggested
            if suggested is None:
                continue
            wanted = ResourceConfig(cpu=suggested.cpu, memory=suggested.memory)
            current = sizing.current
            if (wanted.cpu, wanted.memory_bytes) != (current.cpu, current.memory_bytes):
                found[sizing.step] = wanted
        return found

    def savings(self) -> dict[str, dict[str, float | None]]:
        """Backend -> the saving per run and per hour of the steps whose prices are known
        (``None`` when no step's is)."""
        totals: dict[str, dict[str, float | None]] = {}
        for backend in self.backends:
            fits = [m for s in self.steps for m in s.machines if m.backend == backend.name]
            per_run = [m.saving_per_run for m in fits if m.saving_per_run is not None]
            hourly = [m.hourly_saving for m in fits if m.hourly_saving is not None]
            totals[backend.name] = {
                "saving_per_run": sum(per_run) if per_run else None,
                "hourly_saving": sum(hourly) if hourly else None,
            }
        return totals

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``flowyml rightsize --json``)."""
        return {
            "pipeline": self.pipeline,
            "stack": self.stack,
            "headroom": self.headroom,
            "runs": list(self.runs),
            "steps": [s.to_dict() for s in self.steps],
            "catalogs": [
                {
                    "backend": b.name,
                    "source": b.catalog.source,
                    "as_of": b.catalog.as_of,
                    "region": b.catalog.region,
                    "currency": b.catalog.currency,
                    "file": b.catalog.origin,
                    "default_machine": b.default_machine,
                }
                for b in self.backends
            ],
            "savings": self.savings(),
            "notes": list(self.notes),
        }


def recorded_pipelines(project: Project) -> list[str]:
    """The names of the pipelines the project's run store has runs of."""
    rows = project.run_store.db.query("SELECT DISTINCT pipeline FROM runs ORDER BY pipeline")
    return [str(row[0]) for row in rows]


def rightsize_pipeline(
    project: Project,
    pipeline: str | PipelineDefinition,
    *,
    runs: int = 5,
    headroom: float = DEFAULT_HEADROOM,
    stack: str | None = None,
    backends: list[PricedBackend] | None = None,
) -> RightsizeReport:
    """Right-size ``pipeline`` from its last ``runs`` successful runs.

    Args:
        project: the project whose runs and configuration to read.
        pipeline: the pipeline, or its name as its runs recorded it; for a name, the
            steps' own resources come from importing the pipeline the newest run names.
        runs: how many of the newest successful runs to measure.
        headroom: the factor over the highest memory peak (at least 1).
        stack: the stack whose default resources count (default: the configured one).
        backends: the priced backends (default: every installed backend with a catalog).

    Raises:
        FlowyMLError: no run of that pipeline is recorded (the recorded ones are named),
            or ``runs`` or ``headroom`` is out of range.
        ConfigError: the configuration or a price file is invalid.
    """
    if headroom < 1:
        raise FlowyMLError(
            f"--headroom must be at least 1 (1.25 is 25% over the peak), got {headroom}"
        )
    name = pipeline if isinstance(pipeline, str) else pipeline.name
    known = recorded_pipelines(project)
    if name not in known:
        raise FlowyMLError(
            f"no run of pipeline '{name}' is recorded in {project.home}; recorded pipelines: "
            f"{', '.join(known) or 'none'}"
        )
    window, measured = measure(project.run_store, name, runs)
    notes: list[str] = []
    definition = _definition(pipeline, project, name, notes)
    own = [] if definition is None else definition.steps
    declared = {s.name: s.resources for s in own}
    groups = {s.name: s.execution_group for s in own if s.execution_group}
    config = project.config
    stack_name, stack_config = config.resolve(stack)
    configured = config.step_resources(name)
    if backends is None:
        backends = priced_backends(config, project.root, stack)
    sizings: list[StepSizing] = []
    for step in step_order(measured, declared):
        entry = measured.get(step) or Measured()
        current = effective_resources(
            declared.get(step), configured.get(step), stack_config.resources
        )
        suggested, step_notes = suggest(entry, current, headroom)
        if step in groups:
            step_notes.append(
                f"runs in execution group '{groups[step]}': the group asks for the largest "
                "resources of its steps"
            )
        wall = entry.figures()["wall_seconds_median"]
        sizing = StepSizing(step, entry, current, suggested, step_notes)
        sizing.machines = [
            fit_machines(b, current, suggested, None if wall is None else float(wall))
            for b in backends
        ]
        sizings.append(sizing)
    if not window:
        notes.append(f"no successful run of '{name}' is recorded: only OOM kills count")
    return RightsizeReport(name, stack_name, headroom, [r.run_id for r in window], sizings,
                           backends, notes)  # fmt: skip


def _definition(
    pipeline: str | PipelineDefinition, project: Project, name: str, notes: list[str]
) -> PipelineDefinition | None:
    """The pipeline, else the one the newest run names; ``None`` (with a note) when it
    cannot be imported, and the steps' own resources are then unknown."""
    if isinstance(pipeline, PipelineDefinition):
        return pipeline
    newest = project.run_store.list_runs(limit=1, pipeline=name)
    reference = newest[0].pipeline_ref if newest else None
    if reference is None:
        notes.append(
            "the steps' own resources are unknown (the runs name no importable pipeline): "
            "pass the pipeline file to count them"
        )
        return None
    try:
        found = load_reference(reference)
    except Exception as exc:  # the user's module failed to import: report it, carry on
        notes.append(f"could not import {reference} ({exc}): the steps' own resources are unknown")
        return None
    if not isinstance(found, PipelineDefinition):
        notes.append(f"{reference} is not a pipeline: the steps' own resources are unknown")
        return None
    return found
