"""Execution groups: consecutive steps that run together in one environment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowyml.definition.dag import DAG, collection_paused
from flowyml.definition.steps import Step, default_resources
from flowyml.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from flowyml.records.resources import ResourceConfig

__all__ = ["StepGroup", "group_steps", "pipeline_graph"]


@dataclass
class StepGroup:
    """Steps dispatched together, in order, to one environment.

    Attributes:
        name: the execution group name, or the step name for a step of its own.
        steps: the member steps in topological order.
        resources: the element-wise maximum of the members' resources.
        upstream: names of the groups this group depends on.
    """

    name: str
    steps: list[Step]
    resources: ResourceConfig = field(default_factory=default_resources)
    upstream: list[str] = field(default_factory=list)

    @property
    def step_names(self) -> list[str]:
        """Names of the member steps, in execution order."""
        return [s.name for s in self.steps]

    @property
    def inputs(self) -> list[str]:
        """Artifacts the group consumes from outside itself."""
        produced = {out for s in self.steps for out in s.outputs}
        needed: list[str] = []
        for s in self.steps:
            for artifact in s.inputs:
                if artifact not in produced and artifact not in needed:
                    needed.append(artifact)
        return needed

    @property
    def outputs(self) -> list[str]:
        """Artifacts the group produces."""
        return [out for s in self.steps for out in s.outputs]


def group_steps(dag: DAG) -> list[StepGroup]:
    """Split a DAG into groups, in topological order (see :func:`_group_steps`)."""
    with collection_paused():
        return _group_steps(dag)


def _group_steps(dag: DAG) -> list[StepGroup]:
    """Split a DAG into groups, in topological order; linear in the number of steps.

    Steps that share an ``execution_group`` and are consecutive in the DAG's topological
    order form one group. A group's resources are the maximum of its members'.

    Raises:
        PipelineDefinitionError: members of one group ask for conflicting machine types.
    """
    steps, upstream = dag.steps, dag.upstream
    # Group names are the execution group, or the step's name for a step of its own,
    # suffixed "#2", "#3"... when taken. Step names are unique, so only a step named
    # like some execution group can collide: every other step takes its own name without
    # any bookkeeping, which on a large pipeline is most of the time spent here.
    keys = {s.execution_group for s in steps.values()}
    keys.discard(None)
    if not keys:
        # No execution group: each step is a group of its own, named after it, and its
        # upstream groups are its upstream steps.
        return [
            StepGroup(name, [step], step.resources, upstream[name].copy())
            for name, step in zip(dag.order, map(steps.__getitem__, dag.order), strict=True)
        ]
    used_names: dict[str, int] = {}
    # The group of each step whose group is not named after it alone (the others are).
    group_of: dict[str, str] = {}
    groups: list[StepGroup] = []
    current: StepGroup | None = None
    current_key: str | None = None
    ups: dict[str, None] = {}  # the current group's upstream groups, in order
    for name in dag.order:
        step = steps[name]
        key = step.execution_group
        if key is not None and current_key == key and current is not None:
            current.steps.append(step)
            try:
                current.resources = current.resources.merge_max(step.resources)
            except ValueError as exc:
                raise PipelineDefinitionError(
                    f"execution group '{key}': step '{name}' asks for {exc}"
                ) from None
            group_name = current.name
            group_of[name] = group_name
            # Upstream steps precede this one in topological order: their groups are
            # final, and the current group's upstream list is completed as members join.
            for up in upstream[name]:
                up_group = group_of.get(up, up)
                if up_group != group_name and up_group not in ups:
                    ups[up_group] = None
                    current.upstream.append(up_group)
            continue
        base = key or name
        if key is None and base not in keys:
            group_name = name
        else:
            count = used_names.get(base, 0)
            used_names[base] = count + 1
            group_name = base if count == 0 else f"{base}#{count + 1}"
            group_of[name] = group_name
        # A step's upstream steps are distinct and all in earlier groups; several of them
        # can only be in one group, or in a group of the same name, when some are members
        # of groups of several or renamed.
        first = upstream[name]
        if group_of:
            in_groups = dict.fromkeys([group_of.get(up, up) for up in first])
            first = [up_group for up_group in in_groups if up_group != group_name]
        else:
            first = first.copy()
        if key is not None:
            ups = dict.fromkeys(first)
        current = StepGroup(group_name, [step], step.resources, first)
        current_key = key
        groups.append(current)
    return groups


def pipeline_graph(dag: DAG, groups: list[StepGroup]) -> str:
    """The shape of a pipeline as JSON, for the run store (see ``RunStore.get_graph``);
    computed once per DAG (a pipeline run again reuses its DAG and its groups)."""
    if dag.graph_json is None:
        # A dictionary per step, all garbage once dumped: the collector would walk them
        # (and everything else) over and over while they are built.
        with collection_paused():
            dag.graph_json = _graph_json(dag, groups)
    return dag.graph_json


def _graph_json(dag: DAG, groups: list[StepGroup]) -> str:
    shared = {
        step.name: group.name for group in groups if len(group.steps) > 1 for step in group.steps
    }
    return json.dumps(
        {
            "steps": [
                {
                    "name": name,
                    "group": shared.get(name),
                    "upstream": dag.upstream.get(name, []),
                    "inputs": {a: dag.producers.get(a) for a in dag.steps[name].inputs},
                    "outputs": dag.steps[name].outputs,
                    "resources": _asked(dag.steps[name].resources),
                }
                for name in dag.order
            ]
        },
        separators=(",", ":"),
    )


def _asked(resources: ResourceConfig) -> dict[str, Any]:
    """What a step asks for, without the fields it leaves at their defaults."""
    return resources.model_dump(mode="json", exclude_defaults=True)
