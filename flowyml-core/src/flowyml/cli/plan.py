"""``flowyml run FILE --plan``: what a run would do, built by the backend, shown here."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from flowyml.cli.common import fail
from flowyml.records.plan import RunPlan, StepPlan

__all__ = ["build_plan", "render_plan", "show_plan"]


def build_plan(
    pipeline: Any, backend: str | None, params: dict[str, Any], no_cache: bool
) -> RunPlan:
    """The plan of running ``pipeline`` on ``backend`` with ``params``: the backend's own
    ``plan()``, or for an executor without one the core's plan of its groups and cache.

    Raises:
        FlowyMLError: the pipeline, the configuration or the backend's settings are wrong.
    """
    from flowyml.execution.executor import Executor
    from flowyml.execution.launch import build_backend, configured_pipeline
    from flowyml.execution.planning import plan_run
    from flowyml.project.folder import open_project
    from flowyml.project.prices import load_machine_catalog

    project = open_project()
    stack, instance = build_backend(project, backend, False if no_cache else None)
    pipeline = configured_pipeline(pipeline, project.config)
    context = pipeline.context.updated(**params) if params else pipeline.context
    planner = getattr(instance, "plan", None)
    if planner is not None:
        plan = planner(
            pipeline,
            context=context,
            resources=stack.resources,
            docker_config=stack.docker,
            stack=stack,
        )
        assert isinstance(plan, RunPlan), f"{type(instance).__name__}.plan() returned {plan!r}"
        return plan
    if isinstance(instance, Executor):
        planned = plan_run(
            pipeline,
            stack.backend,
            context=context,
            project=project,
            artifact_store=project.artifact_store(stack),
            use_cache=stack.cache,
            executor=instance,  # executors get no stack defaults: a run passes them none
        )
        catalog = load_machine_catalog(stack.backend, None, project)
        return planned.priced(catalog, by_machine_type=False)
    fail(
        f"backend '{stack.backend}' cannot show a plan: it has no plan() method "
        "(docker, vertex_ai, kubernetes, sagemaker and dask have one)"
    )


def show_plan(plan: RunPlan, as_json: bool, as_yaml: bool) -> None:
    """Print ``plan``: as JSON, as the backend's YAML (kubernetes), or as tables."""
    if as_json:
        click.echo(json.dumps(plan.to_dict(), indent=2, default=str))
    elif as_yaml:
        text = plan.details.get("yaml")
        if not isinstance(text, str):
            fail(f"backend '{plan.backend}' has no YAML to show; drop --yaml")
        click.echo(text, nl=False)
    else:
        render_plan(plan)


def _money(value: float | None, currency: str | None) -> str:
    return "unknown" if value is None else f"{value:.4f} {currency or ''}".rstrip()


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1f} s"


def _step_line(step: StepPlan) -> str:
    if step.cached:
        return f"{step.name}: cached"
    return f"{step.name}: {'runs' if step.decided else 'runs?'} ({step.reason})"


def render_plan(plan: RunPlan, console: Any = None) -> None:
    """Draw ``plan`` as a table of groups and a summary, with rich."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console(width=None if sys.stdout.isatty() else 100)
    title = f"Plan: pipeline '{plan.pipeline}' on {plan.backend} (nothing submitted)"
    table = Table(title=title, title_justify="left", show_lines=True)
    for column in ("group", "steps", "machine / resources", "image", "time", "cost"):
        table.add_column(column)
    for group in plan.groups:
        steps = "\n".join(_step_line(s) for s in group.step_plans)
        shape = group.resources.model_dump(exclude_defaults=True)
        machine = group.machine_type or ", ".join(f"{k}={v}" for k, v in shape.items()) or "-"
        image = f"{group.image} ({group.image_action})" if group.image else group.image_action
        cost = _money(group.estimated_cost, plan.currency)
        if group.estimated_cost is None and group.cost_note:
            cost += f"\n{group.cost_note}"
        table.add_row(
            group.name,
            steps,
            machine,
            image if group.launches else "-",
            _seconds(group.estimated_seconds),
            cost,
        )
    console.print(table)
    cached = plan.cached_steps
    undecided = plan.undecided_steps
    lines = [
        f"jobs: {plan.jobs} of {len(plan.groups)} group(s)",
        f"cached steps (will not run): {', '.join(cached) if cached else 'none'}",
        f"undecided (cached only if an upstream output is unchanged): {', '.join(undecided)}"
        if undecided
        else None,
        f"image: {plan.image} ({plan.image_action})" if plan.image else None,
        f"estimated time: {_seconds(plan.estimated_seconds)}",
        f"estimated cost: {_money(plan.estimated_cost, plan.currency)}",
        *(f"  {why}" for why in plan.cost_unknown_because),
    ]
    if plan.prices:
        prices = plan.prices
        lines.append(
            f"prices: {prices.get('source')} as of {prices.get('as_of')}"
            + (f", {prices['region']}" if prices.get("region") else "")
            + (f" ({prices['file']})" if prices.get("file") else "")
        )
    lines += [f"note: {note}" for note in plan.notes]
    for line in lines:
        if line is not None:
            console.print(line, highlight=False, markup=False)
