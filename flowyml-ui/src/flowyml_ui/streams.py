"""Server-Sent Events: the runs list and one run, polled from the run store.

Each stream polls SQLite (a few indexed reads) in a worker thread at a fixed interval and
sends only what changed; it ends when the browser disconnects, and a run's stream ends
once the run has finished and everything recorded was sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.requests import Request

from flowyml.backend import ExecutionStatus, RunStore
from flowyml_ui.run_views import log_rows, run_summary, runs_listing, step_view

__all__ = ["run_events", "runs_events", "sse"]

KEEPALIVE_SECONDS = 15.0
# A step's record changes with one of these (its usage and outputs come with its end).
_STEP_CHANGES = ("status", "started_at", "finished_at", "retries", "error", "exit_code")


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One Server-Sent Event; ``data`` is sent as JSON on one line."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def runs_events(
    request: Request,
    store: RunStore,
    pipeline: str | None,
    status: str | None,
    limit: int,
    interval: float,
    stopping: Callable[[], bool],
) -> AsyncIterator[str]:
    """``runs`` events: the runs page's rows, each time one of them changes; until the
    browser disconnects or the server is ``stopping``."""
    last = ""
    quiet_since = time.monotonic()
    while not stopping() and not await request.is_disconnected():
        rows = await anyio.to_thread.run_sync(runs_listing, store, pipeline, status, limit)
        payload = json.dumps(rows, sort_keys=True)
        if payload != last:
            last = payload
            quiet_since = time.monotonic()
            yield sse("runs", rows)
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await anyio.sleep(interval)


def _poll_run(store: RunStore, run_id: str, after: int) -> tuple[Any, list[Any], list[Any]]:
    run = store.get_run(run_id)
    effective = run.params.get("steps") or {}
    steps = [step_view(s, effective) for s in run.steps]
    counts = store.step_counts([run.run_id]).get(run.run_id)
    logs = log_rows(store, run.run_id, after)
    return run_summary(run, counts), steps, logs


async def run_events(
    request: Request,
    store: RunStore,
    run_id: str,
    after: int,
    interval: float,
    stopping: Callable[[], bool],
) -> AsyncIterator[str]:
    """One run's events, each sent when something changed.

    ``run`` (the run's row), ``steps`` (the steps whose record changed), ``logs`` (new log
    rows; the event id is the last row's id, so a reconnecting browser resumes after it)
    and, once the run finished and a poll found no row left to send, ``end``.
    """
    seen_run = ""
    seen_steps: dict[str, tuple[Any, ...]] = {}
    cursor = after
    quiet_since = time.monotonic()
    while not stopping() and not await request.is_disconnected():
        run, steps, logs = await anyio.to_thread.run_sync(_poll_run, store, run_id, cursor)
        sent = False
        run_payload = json.dumps(run, sort_keys=True)
        if run_payload != seen_run:
            seen_run = run_payload
            sent = True
            yield sse("run", run)
        changed = []
        for step in steps:
            key = tuple(step[field] for field in _STEP_CHANGES)
            if seen_steps.get(step["name"]) != key:
                seen_steps[step["name"]] = key
                changed.append(step)
        if changed:
            sent = True
            yield sse("steps", changed)
        if logs:
            cursor = logs[-1]["id"]
            sent = True
            yield sse("logs", logs, event_id=cursor)
        if not logs and ExecutionStatus(run["status"]).is_finished:
            yield sse("end", {"status": run["status"]})
            return
        if sent:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await anyio.sleep(interval)
