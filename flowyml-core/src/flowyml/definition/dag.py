"""The step graph of a pipeline: built from artifact names, validated before any run."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from flowyml.definition.steps import Step
from flowyml.errors import PipelineDefinitionError

__all__ = ["DAG", "collection_paused"]


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large graph.

    Building the structures of a 100,000-step pipeline allocates millions of containers,
    and each generation-0 collection then walks them again: about 40% of the time spent
    checking and grouping such a pipeline. Nothing built here is garbage, and reference
    counting still frees what is; the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class DAG:
    """Steps connected by the artifacts they produce and consume.

    Construction validates the graph: unique step names, one producer per artifact,
    every input produced by a step or supplied from outside (``external_inputs``), and
    no cycle. Validation is linear in the number of steps and edges.

    Attributes:
        steps: step name -> step, in the order they were added.
        producers: artifact name -> name of the step producing it.
        upstream: step name -> names of the steps it depends on.
        downstream: step name -> names of the steps depending on it.
        order: step names in a topological order (stable: ties keep insertion order).
        external_inputs: inputs no step produces, which the run must supply.
        condition_inputs: step name -> the artifacts its condition reads (the steps that
            produce them run first).
    """

    def __init__(self, steps: Iterable[Step], external_inputs: Iterable[str] = ()) -> None:
        self.graph_json: str | None = None  # its shape for the run store, once computed
        self.steps: dict[str, Step] = {}
        for step in steps:
            if step.name in self.steps:
                raise PipelineDefinitionError(
                    f"two steps are named '{step.name}'; give one of them name=..."
                )
            self.steps[step.name] = step
        self.producers: dict[str, str] = {}
        for step in self.steps.values():
            for output in step.outputs:
                other = self.producers.get(output)
                if other is not None:
                    raise PipelineDefinitionError(
                        f"output '{output}' is produced by two steps: '{other}' and "
                        f"'{step.name}'; each artifact must have exactly one producer"
                    )
                self.producers[output] = step.name
        allowed_external = set(external_inputs)
        self.external_inputs: list[str] = []
        self.upstream: dict[str, list[str]] = {}
        self.downstream: dict[str, list[str]] = {name: [] for name in self.steps}
        self.condition_inputs: dict[str, list[str]] = {}
        for step in self.steps.values():
            ups: list[str] = []
            for artifact in step.inputs:
                producer = self.producers.get(artifact)
                if producer is None:
                    if artifact not in allowed_external:
                        raise PipelineDefinitionError(
                            f"step '{step.name}' needs input '{artifact}', which no step "
                            "produces; add a step with outputs=[...] naming it, or pass it "
                            "in the run's inputs"
                        )
                    if artifact not in self.external_inputs:
                        self.external_inputs.append(artifact)
                    continue
                if producer == step.name:
                    raise PipelineDefinitionError(
                        f"cycle: step '{step.name}' consumes its own output '{artifact}'"
                    )
                if producer not in ups:
                    ups.append(producer)
                    self.downstream[producer].append(step.name)
            # A condition that reads another step's output runs after that step.
            read = [
                p for p in step.condition_params if p in self.producers or p in allowed_external
            ]
            self.condition_inputs[step.name] = read
            for artifact in (p for p in read if p in self.producers):
                producer = self.producers[artifact]
                if producer == step.name:
                    raise PipelineDefinitionError(
                        f"cycle: the condition of step '{step.name}' reads its own output "
                        f"'{artifact}'"
                    )
                if producer not in ups:
                    ups.append(producer)
                    self.downstream[producer].append(step.name)
            self.upstream[step.name] = ups
        self.order: list[str] = self._topological_order()

    def _topological_order(self) -> list[str]:
        indegree = {name: len(ups) for name, ups in self.upstream.items()}
        ready = deque(name for name, degree in indegree.items() if degree == 0)
        order: list[str] = []
        while ready:
            name = ready.popleft()
            order.append(name)
            for child in self.downstream[name]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if len(order) != len(self.steps):
            remaining = {name for name, degree in indegree.items() if degree > 0}
            cycle = self._find_cycle(remaining)
            raise PipelineDefinitionError("cycle between steps: " + " -> ".join(cycle))
        return order

    def _find_cycle(self, nodes: set[str]) -> list[str]:
        """One cycle among ``nodes`` (each of which lies on or behind a cycle)."""
        start = min(nodes)
        path: list[str] = []
        position: dict[str, int] = {}
        node = start
        while node not in position:
            position[node] = len(path)
            path.append(node)
            node = next(up for up in self.upstream[node] if up in nodes)
        cycle = path[position[node] :]
        cycle.reverse()  # walked against the edges; present producer -> consumer
        first = cycle.index(min(cycle))
        cycle = cycle[first:] + cycle[:first]
        return [*cycle, cycle[0]]

    def roots(self) -> list[str]:
        """Steps with no upstream step."""
        return [name for name in self.order if not self.upstream[name]]

    def descendants(self, names: Iterable[str]) -> set[str]:
        """The given steps and every step downstream of them."""
        seen: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(self.downstream[name])
        return seen

    def __len__(self) -> int:
        return len(self.steps)
