"""What a run would do, known before it starts: its groups, cached steps, image and cost.

``flowyml run FILE --plan`` prints a :class:`RunPlan`. The core fills in the groups, which
steps the cache already holds and how long the others took before
(:mod:`flowyml.execution.planning`); the backend adds what only it knows (machine type,
image tag, whether the image would be built) and prices the groups from its
:class:`~flowyml.records.catalog.MachineCatalog` (:meth:`RunPlan.priced`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowyml.errors import ConfigError
from flowyml.records.catalog import MachineCatalog
from flowyml.records.resources import ResourceConfig

__all__ = ["GroupPlan", "ImageAction", "RunPlan", "StepPlan"]

#: What a run does about its image: build it, reuse one that exists, or run without one.
ImageAction = Literal["build", "reuse", "none"]


class StepPlan(BaseModel):
    """One step of a plan.

    Attributes:
        name: the step.
        cached: the cache holds its outputs: it will not run.
        cache_key: its cache key, when it can be computed before the run.
        reason: why it is cached or why it will run (e.g. "upstream step 'load' will run
            without a cache key, so this key is known only then").
        estimated_seconds: its recorded duration (``None``: never ran successfully).
        conditional: it has a condition, decided only when the run gets there.
        decided: whether the plan knows if it runs. A step fed by a step that runs
            without a cache key has a key only once that step has written its output:
            it is planned to run, but a cached result is still used if that output is
            the same as before.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    cached: bool
    cache_key: str | None = None
    reason: str
    estimated_seconds: float | None = None
    conditional: bool = False
    decided: bool = True


class GroupPlan(BaseModel):
    """One step group of a plan: one job, container or task when any step will run.

    Attributes:
        name: the group.
        steps: its steps, in the order they run.
        step_plans: each step's plan.
        resources: the effective resources (the group's, with the stack's defaults).
        machine_type: the machine or instance type it would get, where the backend has one.
        image: the image its job would run.
        image_action: ``"build"``, ``"reuse"`` or ``"none"``.
        estimated_seconds: the recorded durations of the steps that will run, summed
            (``None``: one of them never ran successfully).
        estimated_cost: ``estimated_seconds`` at the machine's price (``None``: unknown).
        priced_as: the catalog machine the price was taken from.
        cost_note: why the cost is unknown, or how it was computed.
        details: what else the backend shows (e.g. the Kubernetes Job).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    steps: list[str]
    step_plans: list[StepPlan]
    resources: ResourceConfig = Field(default_factory=ResourceConfig)
    machine_type: str | None = None
    image: str | None = None
    image_action: ImageAction = "none"
    estimated_seconds: float | None = None
    estimated_cost: float | None = None
    priced_as: str | None = None
    cost_note: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def cached_steps(self) -> list[str]:
        """The steps the cache holds (they will not run)."""
        return [s.name for s in self.step_plans if s.cached]

    @property
    def will_run(self) -> list[str]:
        """The steps that will run."""
        return [s.name for s in self.step_plans if not s.cached]

    @property
    def launches(self) -> bool:
        """Whether the group starts a job (some step of it will run)."""
        return any(not s.cached for s in self.step_plans)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for ``--plan --json``."""
        data = self.model_dump(mode="json", exclude_none=False)
        data["resources"] = self.resources.model_dump(mode="json", exclude_defaults=True)
        data["cached_steps"] = self.cached_steps
        data["will_run"] = self.will_run
        data["launches"] = self.launches
        return data


class RunPlan(BaseModel):
    """What a run of a pipeline on a backend would do; nothing of it has been done.

    Attributes:
        pipeline: the pipeline's name.
        backend: the backend kind (``"vertex_ai"``...).
        groups: the step groups, in the order they are released.
        image: the image the run's jobs would run (``None``: no image).
        image_action: ``"build"``, ``"reuse"`` or ``"none"``.
        currency: the currency of the costs.
        prices: where the prices come from (catalog source, date, region, file).
        notes: what the reader should know (the cache is off, conditions...).
        details: backend-specific facts (the Kubernetes YAML, the registry...).
    """

    model_config = ConfigDict(frozen=True)

    pipeline: str
    backend: str
    groups: list[GroupPlan]
    image: str | None = None
    image_action: ImageAction = "none"
    currency: str | None = None
    prices: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def jobs(self) -> int:
        """How many jobs (containers, tasks) the run would start."""
        return sum(1 for g in self.groups if g.launches)

    @property
    def cached_steps(self) -> list[str]:
        """Every step the cache holds, in run order."""
        return [name for g in self.groups for name in g.cached_steps]

    @property
    def undecided_steps(self) -> list[str]:
        """Steps planned to run whose key depends on what an earlier step writes: the
        run may still find them in the cache (see ``StepPlan.decided``)."""
        return [s.name for g in self.groups for s in g.step_plans if not s.decided]

    @property
    def estimated_seconds(self) -> float | None:
        """The sum of the groups' estimates (``None`` when one is unknown)."""
        parts = [g.estimated_seconds for g in self.groups if g.launches]
        return None if None in parts else float(sum(p for p in parts if p is not None))

    @property
    def estimated_cost(self) -> float | None:
        """The sum of the groups' costs (``None`` when one is unknown)."""
        parts = [g.estimated_cost for g in self.groups if g.launches]
        return None if None in parts else float(sum(p for p in parts if p is not None))

    @property
    def cost_unknown_because(self) -> list[str]:
        """Why the run's cost is unknown, one line per group that makes it so."""
        return [
            f"group '{g.name}': {g.cost_note or 'unknown'}"
            for g in self.groups
            if g.launches and g.estimated_cost is None
        ]

    def with_groups(self, groups: list[GroupPlan], **changes: Any) -> RunPlan:
        """This plan with other groups (and other fields)."""
        return self.model_copy(update={"groups": groups, **changes})

    def with_backend_facts(
        self,
        *,
        image: str | None = None,
        image_action: ImageAction = "none",
        machine_type: Callable[[ResourceConfig], str | None] | None = None,
        details: dict[str, Any] | None = None,
        notes: list[str] | None = None,
    ) -> RunPlan:
        """This plan with what the backend adds: the image every group runs, each
        group's machine type (from its resources), details and notes.

        A group no machine fits (``machine_type`` raises ``ConfigError``) keeps no machine
        type, and the error in ``details["machine_error"]``: its job would be refused.
        """
        groups = []
        for g in self.groups:
            update: dict[str, Any] = {"image": image, "image_action": image_action}
            try:
                update["machine_type"] = machine_type(g.resources) if machine_type else None
            except ConfigError as exc:
                update["details"] = {**g.details, "machine_error": str(exc)}
            groups.append(g.model_copy(update=update))
        return self.with_groups(
            groups,
            image=image,
            image_action=image_action,
            details={**self.details, **(details or {})},
            notes=[*self.notes, *(notes or [])],
        )

    def priced(self, catalog: MachineCatalog | None, *, by_machine_type: bool = True) -> RunPlan:
        """This plan with each group's cost: its estimated time at its machine's price.

        Args:
            catalog: the backend's machine catalog (``None``: every cost is unknown).
            by_machine_type: price each group's ``machine_type``; otherwise (backends
                without machine types) the smallest catalog machine fitting its resources.
        """
        groups = [_priced_group(g, catalog, self.backend, by_machine_type) for g in self.groups]
        prices = None
        if catalog is not None:
            prices = {
                "source": catalog.source,
                "as_of": catalog.as_of,
                "region": catalog.region,
                "file": catalog.origin,
            }
        currency = catalog.currency if catalog is not None else None
        return self.with_groups(groups, prices=prices, currency=currency)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for ``--plan --json``: the fields, the groups and the totals."""
        return {
            "pipeline": self.pipeline,
            "backend": self.backend,
            "jobs": self.jobs,
            "image": self.image,
            "image_action": self.image_action,
            "cached_steps": self.cached_steps,
            "undecided_steps": self.undecided_steps,
            "estimated_seconds": self.estimated_seconds,
            "estimated_cost": self.estimated_cost,
            "currency": self.currency,
            "cost_unknown_because": self.cost_unknown_because,
            "prices": self.prices,
            "notes": list(self.notes),
            "groups": [g.to_dict() for g in self.groups],
            "details": self.details,
        }


def _priced_group(
    group: GroupPlan, catalog: MachineCatalog | None, backend: str, by_machine_type: bool
) -> GroupPlan:
    if not group.launches:
        return group.model_copy(
            update={"estimated_cost": 0.0, "cost_note": "every step is cached: no job"}
        )
    if catalog is None:
        note = f"no price catalog for {backend} (write .flowyml/prices/{backend}.json)"
        return group.model_copy(update={"estimated_cost": None, "cost_note": note})
    resources = group.resources
    machine = group.machine_type
    if machine is None and not by_machine_type:
        fitting = catalog.smallest_fitting(
            resources.cpu, resources.memory_bytes, resources.gpu, resources.gpu_type
        )
        machine = fitting.name if fitting is not None else None
    if machine is None:
        note = group.details.get("machine_error") or (
            f"no machine of {catalog.origin or 'the catalog'} fits {_shape(resources)}"
        )
        return group.model_copy(update={"estimated_cost": None, "cost_note": note})
    hourly = catalog.hourly_cost(machine, resources.gpu, resources.gpu_type)
    if hourly is None:
        note = f"no price for {machine} in {catalog.origin or 'the catalog'}"
        return group.model_copy(
            update={"estimated_cost": None, "cost_note": note, "priced_as": machine}
        )
    if group.estimated_seconds is None:
        never = [s.name for s in group.step_plans if not s.cached and s.estimated_seconds is None]
        note = "no recorded duration for " + ", ".join(f"'{n}'" for n in never)
        return group.model_copy(
            update={"estimated_cost": None, "cost_note": note, "priced_as": machine}
        )
    cost = hourly * group.estimated_seconds / 3600
    note = f"{group.estimated_seconds:.1f} s at {hourly:g} {catalog.currency}/h ({machine})"
    return group.model_copy(
        update={"estimated_cost": cost, "cost_note": note, "priced_as": machine}
    )


def _shape(resources: ResourceConfig) -> str:
    parts = [f"{resources.cpu:g} CPU" if resources.cpu else None, resources.memory]
    if resources.gpu:
        parts.append(f"{resources.gpu} x {resources.gpu_type or 'GPU'}")
    return ", ".join(p for p in parts if p) or "the default resources"
