"""Launching a run: from ``pipeline.run(...)`` to a backend that runs it.

Resolving the stack, building the backend from its settings and handing the run to the
scheduler (or to a remote orchestrator) is execution, not definition: it lives here, and
:class:`Pipeline` adds it to :class:`~flowyml.definition.pipeline.PipelineDefinition`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowyml.definition.context import Context
from flowyml.definition.pipeline import STEP_RUNNER_ENV, PipelineDefinition, new_run_id
from flowyml.errors import ConfigError, PipelineDefinitionError, PluginError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from flowyml.plugins.manager import PluginManager
    from flowyml.project.config import ProjectConfig, StackConfig
    from flowyml.project.folder import Project
    from flowyml.records.listener import RunListener
    from flowyml.storage.pipeline_run import PipelineRun

# What launching a run needs (the scheduler, the remote layer, the configuration, the
# plugins) is imported when a run is launched, not with this module: every pipeline file
# imports it through ``from flowyml import Pipeline``, and the step runner imports that
# file in each container, subprocess or cloud job without ever launching a run.

__all__ = [
    "Pipeline",
    "build_backend",
    "configured_pipeline",
    "format_settings_error",
    "unknown_stack_message",
]


class Pipeline(PipelineDefinition):
    """A DAG of steps connected by artifact names, run on a backend by name.

    Example:
        >>> pipeline = Pipeline("demo", context=Context(n=100))
        >>> pipeline.add_step(load).add_step(train)
        >>> run = pipeline.run(backend="local")

    Args:
        name: the pipeline's name, recorded with each run.
        steps: steps to add right away.
        context: default run parameters.
    """

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
        from flowyml.execution.log_capture import StepOutput
        from flowyml.execution.remote import RemoteOrchestrator
        from flowyml.execution.remote_wait import run_remote
        from flowyml.execution.run_events import RunEvents
        from flowyml.execution.scheduler import Scheduler
        from flowyml.project.folder import open_project

        if isinstance(context, Context):
            run_context = context
        else:
            run_context = self.context.updated(**context) if context else self.context
        _, run_context = self._checked(run_context, inputs)
        project = open_project()
        stack, instance = build_backend(project, backend, cache)
        pipeline = configured_pipeline(self, project.config)
        run_id = run_id or new_run_id()
        events = RunEvents(listener)  # also tells the plugins implementing run-event hooks
        with interrupts_stop_runs(), events:
            if isinstance(instance, RemoteOrchestrator):
                if resume:
                    project.run_store.get_run(resume)  # an unknown id fails here, clearly
                return events.ended(
                    run_remote(
                        pipeline,
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
            scheduler = Scheduler(
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
                # The caller's listener, not the plugins' wrapper: no hook takes the output.
                instance.step_output = StepOutput(listener.step_output)
            return events.ended(
                scheduler.run(pipeline, run_id, run_context, dict(inputs or {}), resume_from=resume)
            )


def configured_pipeline(pipeline: Pipeline, config: ProjectConfig) -> Pipeline:
    """``pipeline`` with the per-step resources ``config`` sets for it (``pipelines:`` in
    ``flowyml.yaml``), which every backend then sees as the steps' own.

    Raises:
        ConfigError: the configuration names a step the pipeline does not have.
    """
    try:
        return pipeline.with_step_resources(config.step_resources(pipeline.name))
    except PipelineDefinitionError as exc:
        where = config.source or "the configuration"
        raise ConfigError(f"{where}: 'pipelines.{pipeline.name}.steps': {exc}") from None


def build_backend(
    project: Project, backend: str | None, cache: bool | None = None
) -> tuple[StackConfig, Any]:
    """The stack ``backend`` selects (argument, ``FLOWYML_BACKEND``, ``flowyml.yaml``, or
    ``local``) and the backend instance built from its settings.

    Raises:
        PluginError: neither a stack nor an installed backend has that name.
        ConfigError: the backend's settings are invalid (each key named).
    """
    from pydantic import ValidationError

    from flowyml.plugins.manager import get_plugin_manager

    stack_name, stack = project.config.resolve(backend)
    if cache is False:
        stack = stack.model_copy(update={"cache": False})
    manager = get_plugin_manager()
    if stack_name not in project.config.stacks and not manager.provides(stack.backend):
        raise PluginError(unknown_stack_message(stack_name, project.config, manager))
    info = manager.get_backend(stack.backend)
    try:
        instance = info.cls.from_config(stack.settings)
    except ValidationError as exc:
        source = project.config.source or "settings"
        prefix = f"stacks.{stack_name}.settings" if stack_name in project.config.stacks else ""
        raise ConfigError(format_settings_error(exc, source, prefix, info.name)) from None
    return stack, instance


def unknown_stack_message(name: str, config: ProjectConfig, manager: PluginManager) -> str:
    """Why ``name`` selects nothing: neither a stack defined in the configuration nor an
    installed backend; lists both, and where the name came from."""
    import difflib

    if name == config.stack:
        origin = f"the default stack of {config.source or 'the configuration'}"
    elif name == os.environ.get("FLOWYML_BACKEND"):
        origin = "FLOWYML_BACKEND"
    else:
        origin = "the requested stack"
    stacks = sorted(config.stacks)
    backends = manager.backend_names()
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
