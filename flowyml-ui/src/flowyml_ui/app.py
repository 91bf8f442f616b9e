"""The web application: two pages, a JSON API and its event streams, on Starlette."""

from __future__ import annotations

import html
from collections.abc import Callable
from importlib import resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flowyml.backend import FlowyMLError, Project, RunNotFoundError, RunStore
from flowyml_ui.access import Access, AccessMiddleware
from flowyml_ui.preview import preview_artifact
from flowyml_ui.run_views import STATUSES, run_detail, runs_listing
from flowyml_ui.streams import run_events, runs_events

__all__ = ["create_app"]

STATIC = resources.files("flowyml_ui") / "static"
_NO_STORE = {"cache-control": "no-store"}
_SSE_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


def create_app(
    project: Project,
    access: Access,
    poll_interval: float = 0.25,
    stopping: Callable[[], bool] = lambda: False,
) -> Any:
    """The ASGI application serving ``project``'s runs under ``access``'s rules.

    Args:
        project: the project whose run store is shown.
        access: the token, loopback and ``--allow-stop`` rules.
        poll_interval: seconds between two reads of the run store by a run's stream (the
            runs list is read half as often).
        stopping: true once the server shuts down: the streams end by themselves then,
            instead of being cancelled.
    """
    store: RunStore = project.run_store

    def page(name: str) -> HTMLResponse:
        text = (STATIC / name).read_text(encoding="utf-8")
        text = text.replace("{{token}}", html.escape(access.token, quote=True))
        text = text.replace("{{allow_stop}}", "true" if access.allow_stop else "false")
        text = text.replace("{{project}}", html.escape(str(project.root)))
        return HTMLResponse(text, headers=_NO_STORE)

    async def runs_page(request: Request) -> Response:
        return page("runs.html")

    async def run_page(request: Request) -> Response:
        return page("run.html")

    def filters(request: Request) -> tuple[str | None, str | None, int]:
        query = request.query_params
        status = query.get("status") or None
        if status is not None and status not in STATUSES:
            raise _BadRequest(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        try:
            limit = max(1, min(int(query.get("limit", "200")), 1000))
        except ValueError:
            raise _BadRequest("limit must be a whole number") from None
        return query.get("pipeline") or None, status, limit

    async def api_runs(request: Request) -> Response:
        pipeline, status, limit = filters(request)
        rows = await anyio.to_thread.run_sync(runs_listing, store, pipeline, status, limit)
        return JSONResponse({"runs": rows, "statuses": list(STATUSES)}, headers=_NO_STORE)

    async def api_runs_stream(request: Request) -> Response:
        pipeline, status, limit = filters(request)
        events = runs_events(request, store, pipeline, status, limit, 2 * poll_interval, stopping)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)

    async def api_run(request: Request) -> Response:
        detail = await anyio.to_thread.run_sync(run_detail, store, request.path_params["run_id"])
        detail["allow_stop"] = access.allow_stop
        return JSONResponse(detail, headers=_NO_STORE)

    async def api_run_stream(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        await anyio.to_thread.run_sync(lambda: store.get_run(run_id, with_steps=False))
        cursor = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        if not cursor.isdigit():
            raise _BadRequest("after must be a log row id")
        events = run_events(request, store, run_id, int(cursor), poll_interval, stopping)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)

    async def api_logs(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        step = request.query_params.get("step") or None
        rows = await anyio.to_thread.run_sync(store.get_logs, run_id, step)
        lines = [{"step": s, "ts": ts, "text": text} for s, ts, text in rows]
        return JSONResponse({"logs": lines}, headers=_NO_STORE)

    async def api_artifact(request: Request) -> Response:
        run_id, step, name = (request.path_params[k] for k in ("run_id", "step", "name"))
        record = await anyio.to_thread.run_sync(store.get_run, run_id)
        found = next((s for s in record.steps if s.step == step), None)
        if found is None or name not in found.outputs:
            return _error(404, f"run {record.run_id} has no artifact {name!r} of step {step!r}")
        preview = await anyio.to_thread.run_sync(preview_artifact, found.outputs[name])
        return JSONResponse(preview, headers=_NO_STORE)

    async def api_stop(request: Request) -> Response:
        if not access.allow_stop:
            return _error(403, "stopping runs is off: start `flowyml ui --allow-stop`")
        run_id = request.path_params["run_id"]
        record = await anyio.to_thread.run_sync(lambda: store.get_run(run_id, with_steps=False))
        if record.status.is_finished:
            return _error(409, f"run {record.run_id} already ended ({record.status.value})")
        from flowyml.backend import stop_run

        try:
            said = await anyio.to_thread.run_sync(lambda: stop_run(record.run_id, project=project))
        except FlowyMLError as exc:
            return _error(409, str(exc))
        return JSONResponse({"stopped": record.run_id, "message": said})

    routes = [
        Route("/", runs_page),
        Route("/runs/{run_id}", run_page),
        Route("/api/runs", api_runs),
        Route("/api/runs/stream", api_runs_stream),
        Route("/api/runs/{run_id}", api_run),
        Route("/api/runs/{run_id}/stream", api_run_stream),
        Route("/api/runs/{run_id}/logs", api_logs),
        Route("/api/runs/{run_id}/steps/{step}/artifacts/{name}", api_artifact),
        Route("/api/runs/{run_id}/stop", api_stop, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    handlers: dict[Any, Any] = {
        RunNotFoundError: lambda request, exc: _error(404, str(exc)),
        _BadRequest: lambda request, exc: _error(400, str(exc)),
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    return AccessMiddleware(app, access)


class _BadRequest(Exception):
    """A query parameter the API cannot use; answered 400 with the message."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_NO_STORE)
