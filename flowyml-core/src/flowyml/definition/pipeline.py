"""Pipeline definitions: named collections of steps, checked before anything runs."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

from flowyml.definition.context import Context, check_serialisable
from flowyml.definition.dag import DAG, collection_paused
from flowyml.definition.parameters import check_overrides, coerce_parameters
from flowyml.definition.steps import Step
from flowyml.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from flowyml.records.resources import ResourceConfig

__all__ = ["STEP_RUNNER_ENV", "PipelineDefinition", "new_run_id"]

STEP_RUNNER_ENV = "FLOWYML_STEP_RUNNER"


def new_run_id() -> str:
    """A fresh, short, unique run id."""
    # os.urandom, not uuid: importing uuid costs ~50 ms (it imports platform).
    return os.urandom(6).hex()


class PipelineDefinition:
    """A DAG of steps connected by artifact names: what a pipeline is, not how it runs.

    Users build :class:`flowyml.Pipeline`, which adds ``run`` to this definition
    (:mod:`flowyml.execution.launch`); a definition alone never runs anything.

    Example:
        >>> pipeline = Pipeline("demo", context=Context(n=100))
        >>> pipeline.add_step(load).add_step(train)
        >>> run = pipeline.run(backend="local")

    Args:
        name: the pipeline's name, recorded with each run.
        steps: steps to add right away.
        context: default run parameters.
    """

    def __init__(
        self,
        name: str,
        steps: Iterable[Step] | None = None,
        context: Context | Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise PipelineDefinitionError(f"a pipeline needs a non-empty name, got {name!r}")
        self.name = name
        self.steps: list[Step] = []
        self._built_dag: tuple[Any, DAG] | None = None
        self._names: set[str] = set()
        self.context = context if isinstance(context, Context) else Context(**(context or {}))
        caller = sys._getframe(1).f_globals
        self._origin_module: str | None = caller.get("__name__")
        self._origin_file: str | None = caller.get("__file__")
        self._copied_from: PipelineDefinition | None = None
        for item in steps or ():
            self.add_step(item)

    def add_step(self, item: Step) -> Self:
        """Append a step; returns the pipeline so calls chain."""
        if not isinstance(item, Step):
            raise PipelineDefinitionError(
                f"pipeline '{self.name}': add_step needs a function decorated with "
                f"@step, got {item!r}"
            )
        if item.name in self._names:
            raise PipelineDefinitionError(
                f"pipeline '{self.name}' already has a step named '{item.name}'"
            )
        self.steps.append(item)
        self._names.add(item.name)
        return self

    def step_by_name(self, name: str) -> Step:
        """The step called ``name``.

        Raises:
            PipelineDefinitionError: there is none.
        """
        for item in self.steps:
            if item.name == name:
                return item
        raise PipelineDefinitionError(
            f"pipeline '{self.name}' has no step '{name}'; steps: {[s.name for s in self.steps]}"
        )

    def with_step_resources(self, resources: Mapping[str, ResourceConfig]) -> Self:
        """This pipeline with the given steps asking for other resources: each field set in
        ``resources[step]`` replaces the step's own; the others stay as the step set them.

        Returns the pipeline itself when there is nothing to change, else a copy that
        another process imports as this one (the steps' code is not copied).

        Raises:
            PipelineDefinitionError: ``resources`` names a step the pipeline does not have.
        """
        unknown = sorted(set(resources) - self._names)
        if unknown:
            raise PipelineDefinitionError(
                f"pipeline '{self.name}' has no step(s) {unknown} to set resources for; "
                f"steps: {[s.name for s in self.steps]}"
            )
        if not resources:
            return self
        clone = copy.copy(self)
        clone.steps = [
            s.with_resources(resources[s.name].with_defaults(s.resources))
            if s.name in resources
            else s
            for s in self.steps
        ]
        clone._names = set(self._names)
        clone._built_dag = None
        clone._copied_from = self._copied_from or self
        return clone

    # -- validation ------------------------------------------------------------------
    def build_dag(self, external_inputs: Iterable[str] = ()) -> DAG:
        """Build and validate the DAG (structure only).

        Built once for a given list of steps and external inputs: a run checks the
        pipeline and then schedules it, and a process may run it many times.
        """
        if not self.steps:
            raise PipelineDefinitionError(f"pipeline '{self.name}' has no steps")
        # The steps themselves, not their ids (a step made after another is freed may get
        # its id); Step has no __eq__, so tuples of steps compare by identity.
        key = (tuple(self.steps), tuple(sorted(external_inputs)))
        built = self._built_dag
        if built is not None and built[0] == key:
            return built[1]
        with collection_paused():
            dag = DAG(self.steps, external_inputs)
        self._built_dag = (key, dag)
        return dag

    def validate(
        self, context: Context | None = None, inputs: Mapping[str, Any] | None = None
    ) -> DAG:
        """Check everything that can be checked before running.

        Cycles, missing or duplicate producers, parameters no input or context provides,
        conditions naming unknown values, unserialisable parameters, overrides naming no
        step or no parameter of their step, values that do not fit a step's annotation:
        each raises a :class:`PipelineDefinitionError` naming the step.
        """
        return self._checked(self.context if context is None else context, inputs)[0]

    def _checked(self, context: Context, inputs: Mapping[str, Any] | None) -> tuple[DAG, Context]:
        """:meth:`validate`, also returning the context with values coerced to the steps'
        annotations ("5" -> 5 for an ``int``), which is what a run uses."""
        with collection_paused():
            return self._check(context, inputs)

    def _check(self, context: Context, inputs: Mapping[str, Any] | None) -> tuple[DAG, Context]:
        dag = self.build_dag(external_inputs=inputs or {})
        check_overrides(context, self.steps)
        # Only the steps that read parameters have any to check: on a large pipeline, few.
        readers = dag.param_readers
        context = coerce_parameters(context, readers)
        known: set[str] | None = None
        for item in readers:
            params = context.for_step(item.name)
            missing = [p for p in item.required_context if p not in params]
            if missing:
                raise PipelineDefinitionError(
                    f"step '{item.name}' needs parameter(s) {missing}, which no input and no "
                    "context value provides; add them to the Context or bind inputs"
                )
            for name in item.condition_params:
                if known is None:
                    known = set(dag.producers) | set(dag.external_inputs)
                if name not in known and name not in params:
                    raise PipelineDefinitionError(
                        f"the condition of step '{item.name}' reads '{name}', which is neither "
                        "an artifact of this pipeline nor a context value"
                    )
            for name in item.context_params:
                if name in params:
                    check_serialisable(name, params[name], f"step '{item.name}'")
        return dag, context

    # -- identity ----------------------------------------------------------------------
    def reference(self) -> str | None:
        """``MODULE:ATTR`` or ``FILE:ATTR`` under which another process can import this
        pipeline, or ``None`` when it is not a module-level variable."""
        from flowyml.definition.references import reference_of

        original = self._copied_from or self
        return reference_of(original, self._origin_module, self._origin_file)

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={[s.name for s in self.steps]})"
