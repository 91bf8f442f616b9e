"""What the page shows of the run store, as JSON-ready values.

Every function here reads the run store through its public methods and returns plain
data; the web layer (:mod:`flowyml_ui.app`) only serialises it. Text from steps (logs,
errors, tracebacks) is passed on as it is: the page inserts it as text, never as markup.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import RunRecord, RunStore, StepRecord
from flowyml_ui.dag_layout import layout_graph

__all__ = [
    "STATUSES",
    "log_rows",
    "run_detail",
    "run_summary",
    "runs_listing",
    "step_view",
]

#: The statuses a run or step can have, in the order the filter offers them.
STATUSES = (
    "running",
    "success",
    "failed",
    "cancelled",
    "crashed",
    "pending",
    "cached",
    "skipped",
)

_EMPTY_COUNTS = {
    "total": 0,
    "succeeded": 0,
    "failed": 0,
    "cached": 0,
    "skipped": 0,
    "running": 0,
    "pending": 0,
}


def run_summary(run: RunRecord, counts: dict[str, int] | None) -> dict[str, Any]:
    """One row of the runs page."""
    return {
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "backend": run.backend,
        "status": run.status.value,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration": run.duration,
        "error": run.error,
        "counts": {**_EMPTY_COUNTS, **(counts or {})},
    }


def runs_listing(
    store: RunStore, pipeline: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """The most recent runs, newest first, with their steps counted by outcome."""
    runs = store.list_runs(limit=limit, pipeline=pipeline or None, status=status or None)
    counts = store.step_counts([r.run_id for r in runs]) if runs else {}
    return [run_summary(r, counts.get(r.run_id)) for r in runs]


def step_view(step: StepRecord, effective: dict[str, Any]) -> dict[str, Any]:
    """What the step panel shows of one step."""
    usage = getattr(step, "usage", None)
    return {
        "name": step.step,
        "status": step.status.value,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "duration": step.duration,
        "retries": step.retries,
        "cached": step.cached,
        "skipped": step.skipped,
        "exit_code": step.exit_code,
        "error": step.error,
        "traceback": step.traceback,
        "parameters": effective.get(step.step, {}),
        "usage": None if usage is None else usage.to_dict(),
        "outputs": {
            name: {"uri": ref.get("uri"), "size": ref.get("size")}
            for name, ref in step.outputs.items()
        },
    }


def run_detail(store: RunStore, run_id: str) -> dict[str, Any]:
    """Everything the run page draws: the run, its steps and its laid-out DAG.

    Raises:
        RunNotFoundError: no run has this id.
    """
    run = store.get_run(run_id)
    graph = store.get_graph(run.run_id)
    graph_steps: list[dict[str, Any]] = list(graph["steps"]) if graph else []
    effective = run.params.get("steps") or {}
    steps = {s.step: step_view(s, effective) for s in run.steps}
    for entry in graph_steps:
        # Steps that did not start yet have no record: the graph still names them.
        if entry["name"] not in steps:
            steps[entry["name"]] = _not_started(entry["name"], effective)
        steps[entry["name"]]["group"] = entry.get("group")
        steps[entry["name"]]["resources"] = entry.get("resources")
    counts = store.step_counts([run.run_id]).get(run.run_id)
    return {
        "run": run_summary(run, counts),
        "params": run.params.get("params") or {},
        "steps": steps,
        "graph": layout_graph(graph_steps, [s.step for s in run.steps]),
        "recorded_graph": graph is not None,
    }


def _not_started(name: str, effective: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "status": "pending",
        "started_at": None,
        "finished_at": None,
        "duration": None,
        "retries": 0,
        "cached": False,
        "skipped": False,
        "exit_code": None,
        "error": None,
        "traceback": None,
        "parameters": effective.get(name, {}),
        "usage": None,
        "outputs": {},
    }


def log_rows(store: RunStore, run_id: str, after: int) -> list[dict[str, Any]]:
    """The log rows of a run after cursor ``after`` (a row id), oldest first."""
    return [
        {"id": r.id, "step": r.step, "ts": r.ts, "text": r.text, "live": bool(r.live)}
        for r in store.log_rows(run_id, after=after)
    ]
