"""``flowyml rightsize``: the resources each step should ask for, from its recorded usage."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from flowyml.cli.common import fail as _fail
from flowyml.cli.common import load_pipeline, project_here
from flowyml.errors import FlowyMLError

__all__ = ["rightsize"]

_GIB = 1024**3
_MIB = 1024**2


@click.command()
@click.argument("pipeline")
@click.option(
    "--runs", "-n", default=5, show_default=True, help="Measure the last N successful runs."
)
@click.option("--backend", "-b", "stack", help="Stack whose default resources count.")
@click.option("--headroom", default=1.25, show_default=True, help="Memory over the highest peak.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--write", is_flag=True, help="Write the suggestions into flowyml.yaml.")
def rightsize(
    pipeline: str, runs: int, stack: str | None, headroom: float, as_json: bool, write: bool
) -> None:
    """Suggest resources for each step of PIPELINE from its recorded runs.

    PIPELINE is a pipeline name as `flowyml runs list` shows it, or a pipeline file
    (FILE or FILE:NAME), whose steps' own resources then count as they are now.
    """
    from flowyml.project.config import PROJECT_ENV, project_of_file
    from flowyml.project.config_write import write_step_resources
    from flowyml.project.folder import open_project
    from flowyml.project.rightsize_report import rightsize_pipeline

    path = pipeline.partition(":")[0]
    target: Any = pipeline
    try:
        if path.endswith(".py") or Path(path).is_file():
            if not os.environ.get(PROJECT_ENV):
                os.environ[PROJECT_ENV] = str(project_of_file(Path(path)))
            project = open_project()
            target = load_pipeline(pipeline)
        else:
            project = project_here()
        _check_stack(project, stack)
        report = rightsize_pipeline(project, target, runs=runs, headroom=headroom, stack=stack)
        written = None
        if write:
            suggestions = report.suggestions()
            if suggestions:
                written = write_step_resources(project.root, report.pipeline, suggestions)
    except FlowyMLError as exc:
        _fail(str(exc))
    if as_json:
        data = report.to_dict()
        data["written"] = None if written is None else str(written.path)
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(_render(report))
    if write and written is None:
        click.echo("\nnothing to write: every suggestion is what the steps ask for now")
    elif written is not None:
        steps = ", ".join(report.suggestions())
        click.echo(f"\nwrote the resources of {steps} to {written.path}")
        if not written.comments_kept:
            click.echo("note: the file was rewritten whole: its comments were lost")
    elif report.suggestions():
        click.echo(f"\nto use these: flowyml rightsize {pipeline} --write")


def _check_stack(project: Any, stack: str | None) -> None:
    """A ``--backend`` naming neither a stack nor an installed backend fails as ``run`` does."""
    from flowyml.execution.launch import unknown_stack_message
    from flowyml.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    if stack and stack not in project.config.stacks and not manager.provides(stack):
        _fail(unknown_stack_message(stack, project.config, manager))


def _render(report: Any) -> str:
    from flowyml.cli.progress import format_duration, render_table

    runs = ", ".join(report.runs) or "none"
    lines = [
        f"pipeline {report.pipeline}: {len(report.runs)} successful run(s) ({runs}); "
        f"stack {report.stack}; memory headroom {report.headroom:g}",
        "figures: median / max of the measured runs",
        "",
    ]
    rows = []
    for s in report.steps:
        figures = s.measured.figures()
        if not s.measured.usages:
            rows.append([s.step, "0", "-", "-", "-", _resources(s.current), _suggested(s)])
            continue
        mark = "" if s.measured.exact else "~"
        rows.append(
            [
                s.step,
                str(len(s.measured.usages)),
                f"{mark}{_size(figures['peak_memory_median'])} / "
                f"{_size(figures['peak_memory_max'])}",
                f"{mark}{figures['utilisation_median']:.2f} / {figures['utilisation_max']:.2f}",
                f"{format_duration(figures['wall_seconds_median'])} / "
                f"{format_duration(figures['wall_seconds_max'])}",
                _resources(s.current),
                _suggested(s),
            ]
        )
    headers = ["step", "runs", "peak memory", "cores used", "wall time", "current", "suggested"]
    lines.append(render_table(headers, rows))
    notes = [f"  {s.step}: {note}" for s in report.steps for note in s.notes]
    notes += [f"  {note}" for note in report.notes]
    if any(not s.measured.exact for s in report.steps if s.measured.usages):
        notes.append("  ~ approximate: the step shared its process with others (local, dask)")
    if notes:
        lines += ["", "notes:", *notes]
    savings = report.savings()
    for backend in report.backends:
        lines += ["", _machines(report, backend, savings[backend.name])]
    return "\n".join(lines)


def _machines(report: Any, backend: Any, total: dict[str, float | None]) -> str:
    from flowyml.cli.progress import render_table

    catalog = backend.catalog
    where = f", {catalog.region}" if catalog.region else ""
    head = f"{backend.name}: prices of {catalog.as_of}{where} ({catalog.source})"
    rows = []
    for s in report.steps:
        fit = next(m for m in s.machines if m.backend == backend.name)
        rows.append(
            [
                s.step,
                _machine(fit.current) if fit.current else f"? ({fit.current_reason})",
                "-"
                if s.suggested is None
                else _machine(fit.suggested)
                if fit.suggested
                else "none fits",
                _money(fit.hourly_saving, catalog.currency),
                _money(fit.saving_per_run, catalog.currency, 4),
            ]
        )
    rows.append(["total", "", "", _money(total["hourly_saving"], catalog.currency),
                 _money(total["saving_per_run"], catalog.currency, 4)])  # fmt: skip
    headers = ["step", "current machine", "suggested machine", "saved per hour", "per run"]
    return head + "\n" + render_table(headers, rows)


def _machine(machine: Any) -> str:
    price = "price unknown" if machine.hourly_price is None else f"{machine.hourly_price:g}/h"
    return f"{machine.name} ({machine.vcpus:g} vCPU, {_size(machine.memory_bytes)}, {price})"


def _money(value: float | None, currency: str, places: int = 2) -> str:
    return "-" if value is None else f"{value:.{places}f} {currency}"


def _size(size: Any) -> str:
    if size is None:
        return "-"
    if size >= _GIB:
        return f"{size / _GIB:.1f}Gi"
    return f"{size / _MIB:.0f}Mi"


def _resources(resources: Any) -> str:
    if resources == type(resources)():
        return "backend default"
    parts = []
    if resources.machine_type:
        parts.append(resources.machine_type)
    parts.append("cpu default" if resources.cpu is None else f"cpu {resources.cpu:g}")
    parts.append("memory default" if resources.memory is None else str(resources.memory))
    if resources.gpu:
        parts.append(f"gpu {resources.gpu}")
    return ", ".join(parts)


def _suggested(sizing: Any) -> str:
    if sizing.suggested is None:
        return "no measurements"
    return _resources(sizing.suggested.model_copy(update={"machine_type": None}))
