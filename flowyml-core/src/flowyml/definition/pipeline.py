"""Pipelines: named collections of steps, validated, then run on a backend by name."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from flowyml.definition.context import Context, check_serialisable
from flowyml.definition.dag import DAG
from flowyml.errors import ConfigError, PipelineDefinitionError, PluginError
from flowyml.definition.parameters import check_overrides, coerce_parameters
from flowyml.definition.steps import Step

if TYPE_CHECKING:
    from flowyml.project.config import ProjectConfig
    from flowyml.storage.pipeline_run import PipelineRun
    from flowyml.plugins.manager import PluginManager
    from flowyml.records.listener import RunListener

__all__ = ["Pipeline"]

STEP_RUNNER_ENV = "FLOWYML_STEP_RUNNER"


def new_run_id() -> str:
    """A fresh, short, unique run id."""
    # os.urandom, not uuid: importing uuid costs ~50 ms (it imports platform).
    return os.urandom(6).hex()


class Pipeline:
    """A DAG of steps connected by artifact names.

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
        self._names: set[str] = set()
        self.context = context if isinstance(context, Context) else Context(**(context or {}))
        caller = sys._getframe(1).f_globals
        self._origin_module: str | None = caller.get("__name__")
        self._origin_file: str | None = caller.get("__file__")
        for item in steps or ():
            self.add_step(item)

    def add_step(self, item: Step) -> Pipeline:
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

    # -- validation ------------------------------------------------------------------
    def build_dag(self, external_inputs: Iterable[str] = ()) -> DAG:
        """Build and validate the DAG (structure only)."""
        if not self.steps:
            raise PipelineDefinitionError(f"pipeline '{self.name}' has no steps")
        return DAG(self.steps, external_inputs)

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
        dag = self.build_dag(external_inputs=inputs or {})
        check_overrides(context, self.steps)
        context = coerce_parameters(context, self.steps)
        known = set(dag.producers) | set(dag.external_inputs)
        for item in self.steps:
            params = context.for_step(item.name)
            missing = [p for p in item.required_context if p not in params]
            if missing:
                raise PipelineDefinitionError(
                    f"step '{item.name}' needs parameter(s) {missing}, which no input and no "
                    "context value provides; add them to the Context or bind inputs"
                )
            for name in item.condition_params:
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

        return reference_of(self, self._origin_module, self._origin_file)

    # -- running -----------------------------------------------------------------------
    def run(
        self,
        backend: str | None = None,
        *,
        context: Context | Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        resume: str | None = None,
        fail_fast: bool | None = None,
        run_id: str | None = None,
        echo_logs: bool | None = None,
        listener: RunListener | None = None,
        cache: bool | None = None,
    ) -> PipelineRun:
        """Run the pipeline and wait for it to finish.

        A failing step does not raise: see ``run.success`` and ``run.step_results``.

        Args:
            backend: stack or backend name; ``None`` for the configured default.
            context: run parameters (a ``Context``, or a mapping that updates the
                pipeline's own context).
            inputs: values for inputs no step produces.
            resume: id of a failed run whose completed steps are reused.
            fail_fast: stop at the first failure (default: the stack's setting).
            run_id: the run id to use (default: a new one).
            echo_logs: print what steps print while they run; ``None`` follows the
                backend's ``echo_logs`` setting (on when it has none). With a
                ``listener``, the lines go to its ``step_output`` instead.
            listener: receives progress events.
            cache: ``False`` runs every step without looking in (or adding to) the cache;
                ``None`` follows the stack's setting.

        Raises:
            PipelineDefinitionError: the pipeline cannot run as defined.
            ConfigError: the configuration or backend settings are invalid.
            PluginError: the backend is unknown or its plugin is broken.
            RunNotFoundError: ``resume`` names no run.
            RunInterrupted: SIGINT (Ctrl-C), SIGTERM or SIGHUP stopped the run; it was
                recorded as cancelled and its ``run`` attribute holds what happened.
        """
        if os.environ.get(STEP_RUNNER_ENV):
            raise PipelineDefinitionError(
                f"pipeline '{self.name}'.run() was called while the step runner imported the "
                'pipeline\'s module; guard the call with `if __name__ == "__main__":`'
            )
        from flowyml.execution.interrupts import interrupts_stop_runs
        from flowyml.execution.scheduler import Orchestrator
        from flowyml.plugins.manager import get_plugin_manager
        from flowyml.project.folder import open_project
        from flowyml.execution.remote import RemoteOrchestrator
        from flowyml.execution.run_events import RunEvents

        if isinstance(context, Context):
            run_context = context
        else:
            run_context = self.context.updated(**context) if context else self.context
        _, run_context = self._checked(run_context, inputs)
        project = open_project()
        stack_name, stack = project.config.resolve(backend)
        if cache is False:
            stack = stack.model_copy(update={"cache": False})
        manager = get_plugin_manager()
        if stack_name not in project.config.stacks and stack.backend not in manager.backends():
            raise PluginError(unknown_stack_message(stack_name, project.config, manager))
        info = manager.get_backend(stack.backend)
        try:
            instance = info.cls.from_config(stack.settings)
        except ValidationError as exc:
            source = project.config.source or "settings"
            prefix = f"stacks.{stack_name}.settings" if stack_name in project.config.stacks else ""
            raise ConfigError(format_settings_error(exc, source, prefix, info.name)) from None
        run_id = run_id or new_run_id()
        events = RunEvents(listener)  # also tells the plugins implementing run-event hooks
        with interrupts_stop_runs(), events:
            if isinstance(instance, RemoteOrchestrator):
                from flowyml.execution.remote_wait import run_remote

                if resume:
                    project.run_store.get_run(resume)  # an unknown id fails here, clearly
                return events.ended(
                    run_remote(
                        self,
                        instance,
                        stack,
                        run_id,
                        run_context,
                        inputs,
                        events.listener,
                        fail_fast,
                        resume,
                        getattr(instance, "echo_logs", True) if echo_logs is None else echo_logs,
                    )
                )
            orchestrator = Orchestrator(
                instance,
                project.run_store,
                project.cache_store if stack.cache else None,
                project.artifact_store(stack),
                fail_fast=stack.fail_fast if fail_fast is None else fail_fast,
                project_name=project.config.project_name,
                listener=events.listener,
            )
            if echo_logs is not None and hasattr(instance, "echo_logs"):
                instance.echo_logs = echo_logs
            if listener is not None and hasattr(instance, "step_output"):
                from flowyml.execution.log_capture import StepOutput

                # The caller's listener, not the plugins' wrapper: no hook takes the output.
                instance.step_output = StepOutput(listener.step_output)
            return events.ended(
                orchestrator.run(self, run_id, run_context, dict(inputs or {}), resume_from=resume)
            )

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={[s.name for s in self.steps]})"


def unknown_stack_message(name: str, config: ProjectConfig, manager: PluginManager) -> str:
    """Why ``name`` selects nothing: neither a stack defined in the configuration nor an
    installed backend; lists both, and where the name came from."""
    import difflib
    import os

    if name == config.stack:
        origin = f"the default stack of {config.source or 'the configuration'}"
    elif name == os.environ.get("FLOWYML_BACKEND"):
        origin = "FLOWYML_BACKEND"
    else:
        origin = "the requested stack"
    stacks = sorted(config.stacks)
    backends = sorted(manager.backends())
    close = difflib.get_close_matches(name, [*stacks, *backends], n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    where = config.source or "no flowyml.yaml"
    problems = "".join(f"\n  plugin with a problem: {error}" for error in manager.errors)
    return (
        f"unknown stack or backend '{name}' ({origin}): neither a stack defined in {where} "
        f"nor an installed backend{hint}\n  defined stacks: {', '.join(stacks) or 'none'}"
        f"\n  installed backends: {', '.join(backends) or 'none'}{problems}"
    )


def format_settings_error(exc: ValidationError, source: str, prefix: str, backend: str) -> str:
    """A settings error naming the backend, the file and each key."""
    from flowyml.project.config import format_validation_error

    return f"backend '{backend}': " + format_validation_error(exc, source, prefix)
