"""``flowyml runs``: list, show and read the logs of recorded runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from flowyml.cli.common import fail as _fail
from flowyml.cli.common import run_store_here as _store
from flowyml.errors import FlowyMLError

if TYPE_CHECKING:
    from flowyml.records.usage import ResourceUsage

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
    """Steps of a run: statuses, durations, CPU time and peak memory, retries, cache,
    errors, artifacts."""
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
    gpu = any(s.usage is not None and s.usage.gpu_peak_memory_bytes for s in record.steps)
    rows = [
        [
            s.step,
            s.status.value,
            format_duration(s.duration),
            *_usage_cells(s.usage, gpu),
            str(s.retries),
            "yes" if s.cached else "",
            "" if s.exit_code is None else str(s.exit_code),
        ]
        for s in record.steps
    ]
    headers = ["step", "status", "duration", "cpu", "peak mem", *(["gpu mem"] if gpu else [])]
    click.echo("")
    click.echo(render_table([*headers, "retries", "cached", "exit"], rows))
    if any(s.usage is not None and not s.usage.exact for s in record.steps):
        click.echo("~ approximate: the step shared its process with others (its thread's CPU")
        click.echo("  time, the growth of the process's peak memory)")
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


def _usage_cells(usage: ResourceUsage | None, gpu: bool) -> list[str]:
    """The CPU time, peak memory (and GPU memory) cells of a step; ``~`` marks figures of a
    process the step shared, ``OOM`` a step killed at its memory limit."""
    from flowyml.cli.progress import format_duration

    if usage is None:
        return ["", "", *([""] if gpu else [])]
    mark = "" if usage.exact else "~"
    peak = usage.peak_memory_bytes
    memory = "" if peak is None else mark + _format_bytes(peak)
    if usage.oom_killed:
        memory += " OOM"
    cells = [mark + format_duration(usage.cpu_seconds), memory]
    if gpu:
        gpu_peak = usage.gpu_peak_memory_bytes
        cells.append("" if gpu_peak is None else mark + _format_bytes(gpu_peak))
    return cells


def _format_bytes(size: int) -> str:
    """``512 KiB``, ``312.4 MiB``, ``1.50 GiB``."""
    if size < 1024**2:
        return f"{size / 1024:.0f} KiB"
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MiB"
    return f"{size / 1024**3:.2f} GiB"


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
