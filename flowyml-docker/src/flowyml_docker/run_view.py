"""A ``docker`` run as seen from any process: its record, the run store, live containers.

The submitting process answers from its :class:`~flowyml_docker.run_tracker.RunTracker`;
every other process puts the same picture together from the run's JSON record under
``.flowyml/docker/runs/``, the run store (steps, errors, logs of finished steps) and the
labels of the run's live containers (status and logs of running groups).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowyml.backend import ExecutionStatus, RunNotFoundError, RunRecord, RunStore
from flowyml_docker.engine import LABEL_GROUP, LABEL_SECRET_ENV, LABEL_STEPS, managed_containers
from flowyml_docker.secrets import Redactor

__all__ = ["container_log_entries", "describe_containers", "store_log_entries", "store_record"]


def store_record(run_store: RunStore, run_id: str) -> RunRecord | None:
    """The run store's record of ``run_id`` with its steps, or ``None``."""
    try:
        return run_store.get_run(run_id)
    except RunNotFoundError:
        return None


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def store_log_entries(run_store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """Log entries of the finished steps of a run, from the run store."""
    try:
        rows = run_store.get_logs(run_id)
    except RunNotFoundError:
        return []
    entries = []
    for step, ts, text in rows:
        for line in text.splitlines():
            entries.append(
                {
                    "timestamp": _iso(ts),
                    "severity": "INFO",
                    "message": line,
                    "group": step,
                    "is_finished": False,
                }
            )
    return entries


def _container_redactor(container: Any) -> Redactor:
    names = [n for n in container.labels.get(LABEL_SECRET_ENV, "").split(",") if n]
    if not names:
        return Redactor()
    env = container.attrs.get("Config", {}).get("Env") or []
    values = [item.partition("=")[2] for item in env if item.partition("=")[0] in names]
    return Redactor(values)


def container_log_entries(client: Any, run_id: str) -> list[dict[str, Any]]:
    """Log entries of the run's containers that still exist (secret values masked)."""
    entries = []
    for container in managed_containers(client, run_id):
        redactor = _container_redactor(container)
        group = container.labels.get(LABEL_GROUP)
        raw = container.logs(stdout=True, stderr=True, timestamps=True)
        for line in raw.decode(errors="replace").splitlines():
            stamp, _, text = line.partition(" ")
            entries.append(
                {
                    "timestamp": stamp,
                    "severity": "INFO",
                    "message": redactor.text(text),
                    "group": group,
                    "is_finished": False,
                }
            )
    return entries


def describe_containers(client: Any, run_id: str) -> dict[str, dict[str, Any]]:
    """Group name -> facts about the run's containers that still exist."""
    groups: dict[str, dict[str, Any]] = {}
    for container in managed_containers(client, run_id):
        state = container.attrs.get("State", {})
        running = state.get("Status") in ("created", "running", "restarting")
        groups[container.labels.get(LABEL_GROUP, container.name)] = {
            "steps": [s for s in container.labels.get(LABEL_STEPS, "").split(",") if s],
            "status": "running" if running else "failed" if state.get("ExitCode") else "success",
            "container_id": container.id,
            "container_name": container.name,
            "image": container.attrs.get("Config", {}).get("Image"),
            "exit_code": None if running else state.get("ExitCode"),
            "oom_killed": bool(state.get("OOMKilled")),
            "started_at": state.get("StartedAt"),
            "finished_at": None if running else state.get("FinishedAt"),
        }
    return groups


def status_from(
    record: dict[str, Any] | None, stored: RunRecord | None, live: bool
) -> ExecutionStatus | None:
    """The run's status from its docker record, its run-store record and live containers."""
    if record is not None:
        status = ExecutionStatus(record["status"])
        if status.is_finished or stored is None:
            return status
    if stored is not None:
        if stored.status.is_finished:
            return stored.status
        return ExecutionStatus.RUNNING
    return ExecutionStatus.RUNNING if live else None
