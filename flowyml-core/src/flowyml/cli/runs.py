"""``flowyml runs``: list, show and read the logs of recorded runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from flowyml.cli.common import fail as _fail
from flowyml.cli.common import run_store_here as _store
from flowyml.errors import FlowyMLError

__all__ = ["runs"]


@click.group()
def runs() -> None:
    """Inspect recorded runs."""


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@runs.command("list")
@click.option("--limit", "-n", default=20, show_default=True)
@click.option("--pipeline", help="Only runs of this pipeline.")
def runs_list(limit: int, pipeline: str | None) -> None:
    """The most recent runs."""
    from flowyml.cli.progress import format_duration, render_table
    from flowyml.records.status import ExecutionStatus

    try:
        records = _store().list_runs(limit, pipeline)
    except FlowyMLError as exc:
        _fail(str(exc))
    rows = [
        [
            r.run_id,
            r.pipeline,
            r.backend,
            r.status.value,
            _when(r.started_at),
            format_duration(r.duration),
        ]
        for r in records
    ]
    click.echo(render_table(["run", "pipeline", "backend", "status", "started", "duration"], rows))
    crashed = [r for r in records if r.status is ExecutionStatus.CRASHED]
    if crashed:
        click.echo("")
    for r in crashed:
        click.echo(f"{r.run_id} crashed: {r.error}")


@runs.command("show")
@click.argument("run_id")
def runs_show(run_id: str) -> None:
    """Steps of a run: statuses, durations, retries, cache, errors, artifacts."""
    from flowyml.cli.progress import format_duration, render_table
    from flowyml.records.status import ExecutionStatus

    try:
        record = _store().get_run(run_id)
    except FlowyMLError as exc:
        _fail(str(exc))
    click.echo(f"run        {record.run_id}")
    click.echo(f"pipeline   {record.pipeline}")
    click.echo(f"backend    {record.backend}")
    click.echo(f"status     {record.status.value}")
    click.echo(f"started    {_when(record.started_at)}")
    click.echo(f"duration   {format_duration(record.duration)}")
    if record.resumed_from:
        click.echo(f"resumed    from {record.resumed_from}")
    if record.params.get("params"):
        click.echo(f"params     {json.dumps(record.params['params'], sort_keys=True)}")
    effective = record.params.get("steps") or {}
    if record.error:
        click.echo(f"error      {record.error}")
    rows = [
        [
            s.step,
            s.status.value,
            format_duration(s.duration),
            str(s.retries),
            "yes" if s.cached else "",
            "" if s.exit_code is None else str(s.exit_code),
        ]
        for s in record.steps
    ]
    click.echo("")
    click.echo(render_table(["step", "status", "duration", "retries", "cached", "exit"], rows))
    if effective:
        click.echo("\nparameters each step read:")
        click.echo(render_table(["step", "parameter", "value", "from"], _parameter_rows(effective)))
    for s in record.steps:
        if s.outputs:
            click.echo(f"\n{s.step} artifacts:")
            for name, ref in s.outputs.items():
                click.echo(f"  {name}: {ref['uri']}")
    for s in record.steps:
        if s.error:
            verb = "crashed" if s.status is ExecutionStatus.CRASHED else "failed"
            click.echo(f"\n{s.step} {verb}: {s.error}")
            if s.traceback:
                click.echo(s.traceback.rstrip())


def _parameter_rows(effective: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for step_name, params in effective.items():
        for name, entry in params.items():
            source = entry["from"]
            if "shadows" in entry:
                source += f" (run value {json.dumps(entry['shadows'])} not used)"
            rows.append([step_name, name, json.dumps(entry["value"]), source])
    return rows


@runs.command("logs")
@click.argument("run_id")
@click.option("--step", help="Only this step's output.")
def runs_logs(run_id: str, step: str | None) -> None:
    """What the steps of a run printed."""
    try:
        store = _store()
        lines = store.get_logs(run_id, step)
        if step is not None and not lines:
            steps = [s.step for s in store.get_run(run_id).steps]
            if step not in steps:
                _fail(f"run '{run_id}' has no step '{step}'; its steps: {', '.join(steps)}")
            click.echo(f"step '{step}' printed nothing", err=True)
    except FlowyMLError as exc:
        _fail(str(exc))
    for step_name, _ts, text in lines:
        for line in text.splitlines():
            click.echo(f"[{step_name}] {line}")


@runs.command("stop")
@click.argument("run_id")
@click.option("--now", is_flag=True, help="Do not wait for running steps to end gracefully.")
def runs_stop(run_id: str, now: bool) -> None:
    """Stop a running run, from any process on this machine (or any, for remote backends)."""
    from flowyml.execution.run_stop import stop_run

    try:
        click.echo(stop_run(run_id, graceful=not now))
    except FlowyMLError as exc:
        _fail(str(exc))
