"""A run's objects on the cluster, found by the run-id label: listed, described, deleted.

Every Job, pod and Secret of a run carries ``flowyml.io/run-id``, so whoever holds the
run id — the submitting process, another process's ``stop_run``, the crashed-run hook —
can find them without any record. Jobs are deleted with ``propagationPolicy=Foreground``
(the Job goes only after its pod), never with the default, which for a batch/v1 Job
orphans the pod.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from flowyml.backend import ExecutionStatus, LogEntry, now_iso
from flowyml_k8s.api import KubeApis, NotFound
from flowyml_k8s.job_spec import GROUP_ANNOTATION, STEPS_ANNOTATION, run_selector
from flowyml_k8s.job_states import job_state

__all__ = [
    "delete_job",
    "delete_run_objects",
    "run_groups",
    "run_jobs",
    "run_log_entries",
    "run_pods",
    "run_status",
    "wait_run_gone",
]

Obj = dict[str, Any]
_FOREGROUND = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground"}


def delete_job(apis: KubeApis, name: str) -> None:
    """Delete a Job, its pod first (a Job already gone is fine)."""
    with contextlib.suppress(NotFound):  # already deleted: what we wanted
        apis.request("DELETE", apis.jobs_path(name), f"delete Job {name}", body=_FOREGROUND)


def _list(apis: KubeApis, path: str, run_id: str, what: str) -> list[Obj]:
    selector = {"labelSelector": run_selector(run_id)}
    answer = apis.request("GET", path, f"list the {what} of run {run_id}", query=selector)
    return list(answer.get("items", []))


def run_jobs(apis: KubeApis, run_id: str) -> list[Obj]:
    """The run's Jobs."""
    return _list(apis, apis.jobs_path(), run_id, "Jobs")


def run_pods(apis: KubeApis, run_id: str) -> list[Obj]:
    """The run's pods."""
    return _list(apis, apis.core_path("pods"), run_id, "pods")


def delete_run_objects(apis: KubeApis, run_id: str) -> list[str]:
    """Delete every Job (foreground), leftover pod and Secret of the run; their names."""
    deleted: list[str] = []
    for job in run_jobs(apis, run_id):
        delete_job(apis, job["metadata"]["name"])
        deleted.append(f"job/{job['metadata']['name']}")
    for resource in ("pods", "secrets"):
        for obj in _list(apis, apis.core_path(resource), run_id, resource):
            name = obj["metadata"]["name"]
            if obj["metadata"].get("deletionTimestamp"):
                continue
            try:
                apis.request("DELETE", apis.core_path(resource, name), f"delete {name}")
            except NotFound:
                continue  # its Job's deletion took it meanwhile
            deleted.append(f"{resource[:-1]}/{name}")
    return deleted


def wait_run_gone(apis: KubeApis, run_id: str, timeout: float) -> bool:
    """Wait (with a growing pause) until the run has no Job or pod left; ``False`` when
    some remain after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.1
    while run_jobs(apis, run_id) or run_pods(apis, run_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 1.5, 2.0)
    return True


def _by_group(apis: KubeApis, run_id: str) -> dict[str, tuple[Obj, list[Obj]]]:
    pods = run_pods(apis, run_id)
    found: dict[str, tuple[Obj, list[Obj]]] = {}
    for job in run_jobs(apis, run_id):
        name = job["metadata"]["name"]
        group = job["metadata"].get("annotations", {}).get(GROUP_ANNOTATION, name)
        mine = [p for p in pods if p["metadata"].get("labels", {}).get("job-name") == name]
        found[group] = (job, mine)
    return found


def run_status(apis: KubeApis, run_id: str) -> ExecutionStatus | None:
    """The status the run's Jobs give: running while one is unfinished, failed when one
    failed, else succeeded; ``None`` when the cluster has none."""
    states = [job_state(job, pods).status for job, pods in _by_group(apis, run_id).values()]
    if not states:
        return None
    if any(not s.is_finished for s in states):
        return ExecutionStatus.RUNNING
    if any(s.is_failed for s in states):
        return ExecutionStatus.FAILED
    return ExecutionStatus.SUCCESS


def run_groups(apis: KubeApis, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's Jobs, by group: name, status, pod and why it waits or ended."""
    groups: dict[str, dict[str, Any]] = {}
    for group, (job, pods) in _by_group(apis, run_id).items():
        state = job_state(job, pods)
        steps = job["metadata"].get("annotations", {}).get(STEPS_ANNOTATION, "")
        groups[group] = {
            "job_name": job["metadata"]["name"],
            "status": state.status.value,
            "steps": [s for s in steps.split(",") if s],
            "exit_code": state.exit_code,
            "error": state.reason,
            **{k: v for k, v in state.facts.items() if v is not None},
        }
    return groups


def run_log_entries(apis: KubeApis, run_id: str) -> list[LogEntry]:
    """What the run's pods that still exist printed, by group."""
    entries: list[LogEntry] = []
    for group, (_job, pods) in _by_group(apis, run_id).items():
        for pod in pods:
            path = apis.core_path("pods", pod["metadata"]["name"]) + "/log"
            try:
                text = apis.text(path, f"read the log of {pod['metadata']['name']}")
            except NotFound:
                continue
            stamp = now_iso()
            entries += [LogEntry(line, group, "INFO", stamp) for line in text.splitlines()]
    return entries
