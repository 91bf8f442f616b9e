"""Execution groups: consecutive steps that run together in one environment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flowyml.definition.dag import DAG, collection_paused
from flowyml.definition.steps import Step
from flowyml.errors import PipelineDefinitionError
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
    resources: ResourceConfig = field(default_factory=ResourceConfig)
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
    groups: list[StepGroup] = []
    group_of: dict[str, str] = {}
    used_names: dict[str, int] = {}
    current: StepGroup | None = None
    current_key: str | None = None
    for name in dag.order:
        step = dag.steps[name]
        key = step.execution_group
        if current is not None and key is not None and current_key == key:
            current.steps.append(step)
            try:
                current.resources = current.resources.merge_max(step.resources)
            except ValueError as exc:
                raise PipelineDefinitionError(
                    f"execution group '{key}': step '{name}' asks for {exc}"
                ) from None
        else:
            base = key or name
            count = used_names.get(base, 0)
            used_names[base] = count + 1
            group_name = base if count == 0 else f"{base}#{count + 1}"
            current = StepGroup(name=group_name, steps=[step], resources=step.resources)
            current_key = key
            groups.append(current)
        group_of[name] = current.name
    for group in groups:
        ups: dict[str, None] = {}
        for member in group.steps:
            for up in dag.upstream[member.name]:
                up_group = group_of[up]
                if up_group != group.name:
                    ups[up_group] = None
        group.upstream = list(ups)
    return groups


def pipeline_graph(dag: DAG, groups: list[StepGroup]) -> str:
    """The shape of a pipeline as JSON, for the run store (see ``RunStore.get_graph``);
    computed once per DAG (a pipeline run again reuses its DAG and its groups)."""
    if dag.graph_json is None:
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
