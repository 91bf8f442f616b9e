"""The ``flowyml`` commands (click): run pipelines, inspect runs, list backends."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from flowyml.cli.common import fail as _fail
from flowyml.cli.common import load_pipeline
from flowyml.cli.common import project_here as _project
from flowyml.cli.rightsize import rightsize
from flowyml.cli.runs import runs
from flowyml.errors import FlowyMLError, RunInterrupted

__all__ = ["cli"]


def _parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            _fail(f"--param expects KEY=VALUE, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


@click.group()
@click.version_option(package_name="flowyml-core")
def cli() -> None:
    """FlowyML Orchestrators: run pipelines on any backend by name."""


cli.add_command(runs)
cli.add_command(rightsize)


def add_plugin_commands(group: click.Group) -> None:
    """Let plugins add their commands (``flowyml_register_commands``). A plugin that
    raises is reported and adds nothing; one that would replace a command keeps its hands
    off it."""
    from flowyml.plugins.manager import get_plugin_manager

    for impl in get_plugin_manager().implementations("flowyml_register_commands"):
        who = f"plugin '{impl.plugin}' from distribution '{impl.distribution}'"
        before = dict(group.commands)
        try:
            impl.call({"cli": group})
        except Exception as exc:  # one plugin must not take the command line down
            group.commands.clear()
            group.commands.update(before)
            click.echo(
                f"warning: {who} could not add its commands: {type(exc).__name__}: {exc}",
                err=True,
            )
            continue
        for name, command in before.items():
            if group.commands.get(name) is not command:
                group.commands[name] = command
                click.echo(f"warning: {who} tried to replace `flowyml {name}`", err=True)


@cli.command()
@click.argument("target")
@click.option("--backend", "-b", help="Stack or backend name (default: configured, then local).")
@click.option("--param", "-p", "params", multiple=True, help="Context value KEY=VALUE (JSON).")
@click.option("--resume", help="Reuse the completed steps of this failed run.")
@click.option("--continue-on-failure", is_flag=True, help="Run what does not depend on a failure.")
@click.option("--quiet", "-q", is_flag=True, help="No live progress, only the summary.")
@click.option(
    "--logs/--no-logs",
    default=None,
    help="Show what steps print, live, as [STEP] LINE (default: the stack's echo_logs "
    "setting, else off).",
)
@click.option(
    "--no-cache", is_flag=True, help="Run every step; neither read nor add cache entries."
)
@click.option(
    "--plan",
    is_flag=True,
    help="Show what the run would do (groups, cached steps, image, machines, jobs, "
    "estimated cost) and submit or build nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="With --plan: print the plan as JSON.")
@click.option(
    "--yaml", "as_yaml", is_flag=True, help="With --plan: print the backend's YAML (kubernetes)."
)
def run(
    target: str,
    backend: str | None,
    params: tuple[str, ...],
    resume: str | None,
    continue_on_failure: bool,
    quiet: bool,
    logs: bool | None,
    no_cache: bool,
    plan: bool,
    as_json: bool,
    as_yaml: bool,
) -> None:
    """Run the pipeline in TARGET (FILE[:ATTR])."""
    import os

    from flowyml.cli.progress import ProgressDisplay
    from flowyml.definition.parameters import check_parameter_names
    from flowyml.project.config import PROJECT_ENV, project_of_file

    # The project is found from the pipeline file, wherever the command is run from (the
    # processes a backend starts inherit it).
    if not os.environ.get(PROJECT_ENV):
        os.environ[PROJECT_ENV] = str(project_of_file(Path(target.partition(":")[0])))
    try:
        pipeline = load_pipeline(target)
        parsed = _parse_params(params)
        check_parameter_names(parsed, pipeline.steps, pipeline.name)
        if plan:
            from flowyml.cli.plan import build_plan, show_plan

            if resume:
                # A plan would show steps as running that the resumed run reuses: refuse
                # rather than print a plan the run would not follow.
                _fail(
                    "--plan cannot show a resumed run yet: plan without --resume (steps the"
                    f" run '{resume}' completed may then show as running)"
                )

            show_plan(build_plan(pipeline, backend, parsed, no_cache), as_json, as_yaml)
            return
        if as_json or as_yaml:
            _fail("--json and --yaml go with --plan")
        if logs is None:
            # Only a setting written in the configuration turns output on: the backends'
            # own default (on, for scripts) would bury the progress display.
            from flowyml.project.folder import open_project

            stack = open_project().config.resolve(backend)[1]
            logs = stack.settings.get("echo_logs") is True
        display = ProgressDisplay(progress=not quiet)
        try:
            result = pipeline.run(
                backend,
                context=parsed or None,
                resume=resume,
                fail_fast=False if continue_on_failure else None,
                echo_logs=logs,
                listener=display,
                cache=False if no_cache else None,
            )
        finally:
            display.close()  # an interrupted remote run may never report its end
    except FlowyMLError as exc:
        _fail(str(exc))
    except RunInterrupted as exc:
        if exc.run is not None:
            _echo_summary(exc.run)
            click.echo(f"{exc.run.error}; details: flowyml runs show {exc.run.run_id}", err=True)
        else:
            click.echo(f"run {exc}", err=True)
        sys.exit(exc.exit_code)
    _echo_summary(result)
    if not result.success:
        click.echo(f"details: flowyml runs show {result.run_id}", err=True)
        sys.exit(1)
    _echo_final_outputs(pipeline, result)


def _echo_summary(result: Any) -> None:
    """The table of steps and the one-line outcome of a run."""
    from flowyml.cli.progress import format_duration, render_table

    rows = [
        [
            name,
            r.status.value,
            format_duration(r.duration_seconds),
            str(r.retries),
            (r.error or "").splitlines()[0] if r.error else "",
        ]
        for name, r in result.step_results.items()
    ]
    rows += [[name, "not run", "-", "-", ""] for name in result.not_run]
    click.echo(render_table(["step", "status", "duration", "retries", "error"], rows))
    click.echo(
        f"\nrun {result.run_id} {result.status.value} in {format_duration(result.duration_seconds)}"
        f" ({len(result.step_results)} steps)"
    )


def _echo_final_outputs(pipeline: Any, result: Any) -> None:
    """Print the outputs no step consumes, when they are small plain values."""
    consumed = {name for s in pipeline.steps for name in s.inputs}
    for name in result.outputs:
        if name in consumed:
            continue
        try:
            value = result.outputs[name]
        except FlowyMLError:
            continue
        if isinstance(value, str | int | float | bool | dict | list) and len(repr(value)) < 4000:
            text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
            click.echo(f"\n{name}:\n{text}")


@cli.group()
def cache() -> None:
    """Inspect and clear the step cache."""


@cache.command("clear")
@click.option("--step", "steps", multiple=True, help="Only this step's entries (repeatable).")
def cache_clear(steps: tuple[str, ...]) -> None:
    """Forget cache entries, so the next run executes those steps again.

    The artifacts stay (runs may still name them); `flowyml gc` removes the ones nothing
    references.
    """
    try:
        removed = _project().cache_store.clear(steps)
    except FlowyMLError as exc:
        _fail(str(exc))
    which = f" of step(s) {', '.join(steps)}" if steps else ""
    click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}{which}")


@cli.command()
def backends() -> None:
    """Installed backends with their distribution, version and settings."""
    from flowyml.cli.progress import render_table
    from flowyml.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    infos = manager.backends()
    rows = [
        [
            i.name,
            i.kind,
            i.distribution,
            i.version,
            ", ".join(f"{k}: {v}" for k, v in i.config_fields.items()),
        ]
        for i in sorted(infos.values(), key=lambda i: i.name)
    ]
    click.echo(render_table(["backend", "kind", "distribution", "version", "settings"], rows))
    for error in manager.errors:
        click.echo(f"warning: {error}", err=True)


@cli.command("step-runner")
@click.option("--run-id", required=True)
@click.option("--group", required=True, help="The group whose task to run.")
@click.option("--artifact-store", "artifact_store", required=True, help="Artifact store URI.")
@click.option(
    "--pipeline", "pipeline_ref", help="MODULE:ATTR of the pipeline (overrides the task)."
)
@click.option("--steps", help="Comma-separated steps (checked against the task).")
def step_runner(
    run_id: str, group: str, artifact_store: str, pipeline_ref: str | None, steps: str | None
) -> None:
    """Run one step group's task from the artifact store (used by backends)."""
    from flowyml.execution.step_runner import run_task
    from flowyml.plugins.manager import get_plugin_manager

    try:
        store = get_plugin_manager().artifact_store_for(artifact_store)
        code = run_task(
            store,
            run_id,
            group,
            pipeline_ref=pipeline_ref,
            steps=steps.split(",") if steps else None,
        )
    except FlowyMLError as exc:
        _fail(str(exc))
    sys.exit(code)


@cli.command()
@click.option(
    "--keep-last",
    type=click.IntRange(min=0),
    metavar="N",
    help="Keep the N most recent finished runs of each pipeline; delete the others.",
)
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Delete the finished runs that ended more than DAYS ago.",
)
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
def gc(keep_last: int | None, older_than: float | None, dry_run: bool) -> None:
    """Delete old runs, then the artifacts that no run and no cache entry references.

    Without --keep-last or --older-than no run is deleted. With both, a run is kept when
    either option keeps it. Runs in progress, and what they may be writing, are kept.
    """
    from flowyml.project.garbage import collect_garbage

    try:
        report = collect_garbage(_project(), keep_last, older_than, dry_run=dry_run)
    except FlowyMLError as exc:
        _fail(str(exc))
    for line in report.lines():
        click.echo(line)
