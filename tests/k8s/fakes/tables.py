"""``meta.k8s.io/v1 Table`` answers, for ``kubectl get``'s server-side printing.

kubectl asks for ``as=Table`` and prints the columns it gets; these mirror the columns of
the real apiserver for pods, jobs and secrets, so ``kubectl get jobs,pods`` reads as it
would against a cluster (``Completed``, ``Error``, ``OOMKilled``, ``ImagePullBackOff``…).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["to_table"]

Obj = dict[str, Any]


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def pod_state(pod: Obj) -> str:
    """The STATUS column of ``kubectl get pods``."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase", "Pending")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            terminated = state["terminated"]
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
    if "deletionTimestamp" in pod["metadata"] and status.get("phase") not in (
        "Succeeded",
        "Failed",
    ):
        reason = "Terminating"
    return str(reason)


def _pod_row(pod: Obj) -> list[Any]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    total = len(pod["spec"].get("containers", []))
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        pod_state(pod),
        0,
        _age(pod["metadata"].get("creationTimestamp")),
    ]


def _job_state(job: Obj) -> str:
    if "deletionTimestamp" in job["metadata"]:
        return "Terminating"
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
            return str(condition["type"])
    return "Running"


def _job_row(job: Obj) -> list[Any]:
    status = job.get("status") or {}
    completions = f"{status.get('succeeded', 0)}/{job['spec'].get('completions', 1)}"
    start, end = status.get("startTime"), status.get("completionTime")
    duration = _age(start) if start and not end else ""
    if start and end:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        seconds = (datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).seconds
        duration = f"{seconds}s"
    meta = job["metadata"]
    return [
        meta["name"],
        _job_state(job),
        completions,
        duration,
        _age(meta.get("creationTimestamp")),
    ]


def _secret_row(secret: Obj) -> list[Any]:
    meta = secret["metadata"]
    return [
        meta["name"],
        secret.get("type", "Opaque"),
        len(secret.get("data") or {}),
        _age(meta.get("creationTimestamp")),
    ]


def _generic_row(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], _age(obj["metadata"].get("creationTimestamp"))]


_COLUMNS: dict[str, tuple[list[str], Callable[[Obj], list[Any]]]] = {
    "pods": (["Name", "Ready", "Status", "Restarts", "Age"], _pod_row),
    "jobs": (["Name", "Status", "Completions", "Duration", "Age"], _job_row),
    "secrets": (["Name", "Type", "Data", "Age"], _secret_row),
}


def to_table(resource: str, objects: list[Obj], resource_version: str) -> Obj:
    """A Table of ``objects`` (full objects in ``rows[].object``, as kubectl needs names)."""
    names, row = _COLUMNS.get(resource, (["Name", "Age"], _generic_row))
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": "integer" if name in ("Restarts", "Data") else "string",
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": 0,
            }
            for name in names
        ],
        "rows": [{"cells": row(obj), "object": obj} for obj in objects],
    }
