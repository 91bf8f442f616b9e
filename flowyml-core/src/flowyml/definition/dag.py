"""The step graph of a pipeline: built from artifact names, validated before any run."""

from __future__ import annotations

import gc
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
        param_readers: the steps whose function takes run parameters or that have a
            condition, in the order they were added: the only ones whose parameters
            there is anything to check.
    """

    def __init__(self, steps: Iterable[Step], external_inputs: Iterable[str] = ()) -> None:
        self.graph_json: str | None = None  # its shape for the run store, once computed
        # The loops below run once per step or edge of graphs with up to hundreds of
        # thousands of them: they work on locals, and the checks that find nothing wrong
        # are made in bulk, the error messages built only for a graph that fails them.
        listed = list(steps)
        by_name = {step.name: step for step in listed}
        if len(by_name) != len(listed):
            _refuse_duplicate_names(listed)
        self.steps: dict[str, Step] = by_name
        producers = {output: step.name for step in listed for output in step.outputs}
        if len(producers) != sum(len(step.outputs) for step in listed):
            _refuse_duplicate_producers(listed)
        self.producers: dict[str, str] = producers
        allowed_external = set(external_inputs)
        external: list[str] = []
        upstream: dict[str, list[str]] = {}
        downstream: dict[str, list[str]] = {name: [] for name in by_name}
        condition_inputs: dict[str, list[str]] = {}
        readers: list[Step] = []
        ready: list[str] = []  # steps with no upstream step, the first of the order
        waiting: dict[str, int] = {}  # steps with several upstream steps -> how many
        for name, step in by_name.items():
            ups: list[str] = []
            for artifact in step.inputs:
                producer = producers.get(artifact)
                if producer is None:
                    if artifact not in allowed_external:
                        raise PipelineDefinitionError(
                            f"step '{name}' needs input '{artifact}', which no step "
                            "produces; add a step with outputs=[...] naming it, or pass it "
                            "in the run's inputs"
                        )
                    if artifact not in external:
                        external.append(artifact)
                    continue
                if producer == name:
                    raise PipelineDefinitionError(
                        f"cycle: step '{name}' consumes its own output '{artifact}'"
                    )
                if producer not in ups:
                    ups.append(producer)
                    downstream[producer].append(name)
            # A step without a condition reads nothing: its (lazily computed) condition
            # parameters are not looked up.
            if step.condition is None:
                condition_inputs[name] = []
                if step.context_params:
                    readers.append(step)
            else:
                readers.append(step)
                # A condition that reads another step's output runs after that step.
                read = [p for p in step.condition_params if p in producers or p in allowed_external]
                condition_inputs[name] = read
                for artifact in read:
                    producer = producers.get(artifact)
                    if producer is None:
                        continue
                    if producer == name:
                        raise PipelineDefinitionError(
                            f"cycle: the condition of step '{name}' reads its own output "
                            f"'{artifact}'"
                        )
                    if producer not in ups:
                        ups.append(producer)
                        downstream[producer].append(name)
            upstream[name] = ups
            if not ups:
                ready.append(name)
            elif len(ups) > 1:
                waiting[name] = len(ups)
        self.external_inputs: list[str] = external
        self.upstream: dict[str, list[str]] = upstream
        self.downstream: dict[str, list[str]] = downstream
        self.condition_inputs: dict[str, list[str]] = condition_inputs
        self.param_readers: list[Step] = readers
        self.order: list[str] = self._topological_order(ready, waiting)

    def _topological_order(self, ready: list[str], waiting: dict[str, int]) -> list[str]:
        """Kahn's algorithm, first in first out, from the steps with no upstream step
        (``ready``, in insertion order); ``waiting`` counts the upstream steps of those
        with several, and is used up. A step with one upstream step is ready as soon as
        that one is placed: most steps of a large graph need no count."""
        downstream = self.downstream
        order = ready  # also the queue: a list iterated while it grows
        for name in order:
            for child in downstream[name]:
                left = waiting.get(child, 1)
                if left == 1:
                    order.append(child)
                else:
                    waiting[child] = left - 1
        if len(order) != len(self.steps):
            placed = set(order)
            remaining = {name for name in self.steps if name not in placed}
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


def _refuse_duplicate_names(steps: list[Step]) -> None:
    """Raise for the first step whose name an earlier step already has."""
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            raise PipelineDefinitionError(
                f"two steps are named '{step.name}'; give one of them name=..."
            )
        seen.add(step.name)


def _refuse_duplicate_producers(steps: list[Step]) -> None:
    """Raise for the first output that an earlier step, or the same one, also produces."""
    producers: dict[str, str] = {}
    for step in steps:
        for output in step.outputs:
            other = producers.get(output)
            if other is not None:
                raise PipelineDefinitionError(
                    f"output '{output}' is produced by two steps: '{other}' and "
                    f"'{step.name}'; each artifact must have exactly one producer"
                )
            producers[output] = step.name
