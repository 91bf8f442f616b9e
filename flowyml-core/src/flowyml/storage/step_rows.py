"""The row of ``step_runs`` that records one step: built once per step, so built cheaply."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the `runs` commands read the store without pydantic's models
    from flowyml.records.results import ExecutionResult

__all__ = ["NEW_STEP", "UPSERT_STEP", "finished_row", "outputs_json", "uris_json"]

UPSERT_STEP = (
    "INSERT OR REPLACE INTO step_runs (run_id, step, status, started_at, finished_at, duration,"
    " retries, cached, skipped, error, traceback, outputs, exit_code, cache_key, usage)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
# The columns after started_at of a step that just started.
NEW_STEP = (None, None, 0, 0, 0, None, None, "{}", None, None, None)


def outputs_json(refs: dict[str, dict[str, Any]] | None) -> str:
    """The ``outputs`` column for references a caller built (output name -> reference)."""
    return json.dumps(refs) if refs else "{}"


def uris_json(outputs: dict[str, str]) -> str:
    """``outputs_json`` of the references the scheduler records for a result's outputs
    (output name -> URI, no digest or size yet), formatted directly: this runs once per
    step, at a third of the cost of building them and ``json.dumps``."""
    if not outputs:
        return "{}"
    parts = []
    for name, uri in outputs.items():
        text = name + uri
        if type(uri) is not str or not (text.isascii() and text.isprintable()):
            return outputs_json(_refs(outputs))
        if '"' in text or "\\" in text:
            return outputs_json(_refs(outputs))  # a character JSON escapes
        parts.append(f'"{name}": {{"uri": "{uri}", "digest": "", "size": 0}}')
    return "{" + ", ".join(parts) + "}"


def _refs(outputs: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: {"uri": uri, "digest": "", "size": 0} for name, uri in outputs.items()}


def finished_row(
    run_id: str,
    result: ExecutionResult,
    refs: dict[str, dict[str, Any]] | None,
    cache_key: str | None,
) -> tuple[Any, ...]:
    """The parameters of :data:`UPSERT_STEP` for a step's final result.

    ``refs`` maps output names to artifact reference dicts; ``None`` records the result's
    own outputs (URIs, with no digest or size yet).
    """
    return (
        run_id,
        result.step_name,
        result.status._value_,  # the enum's value property is a Python-level descriptor
        result.started_at.timestamp() if result.started_at else None,
        result.finished_at.timestamp() if result.finished_at else time.time(),
        result.duration_seconds,
        result.retries,
        int(result.cached),
        int(result.skipped),
        result.error,
        result.traceback,
        uris_json(result.outputs) if refs is None else outputs_json(refs),
        result.exit_code,
        cache_key,
        None if result.usage is None else result.usage.to_json(),
    )
