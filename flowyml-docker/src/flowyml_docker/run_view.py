"""The containers of a ``docker`` run, read by their labels from any process.

The submitting process answers from its run tracker; every other process puts the same
picture together from the run's record, the run store (the core's part) and, here, the
labels, state and output of the run's containers that still exist.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import LogEntry
from flowyml_docker.engine import LABEL_GROUP, LABEL_SECRET_ENV, LABEL_STEPS, managed_containers
from flowyml_docker.secrets import Redactor

__all__ = ["container_log_entries", "describe_containers"]


def _container_redactor(container: Any) -> Redactor:
    names = [n for n in container.labels.get(LABEL_SECRET_ENV, "").split(",") if n]
    if not names:
        return Redactor()
    env = container.attrs.get("Config", {}).get("Env") or []
    values = [item.partition("=")[2] for item in env if item.partition("=")[0] in names]
    return Redactor(values)


def container_log_entries(client: Any, run_id: str) -> list[LogEntry]:
    """Log entries of the run's containers that still exist (secret values masked)."""
    entries = []
    for container in managed_containers(client, run_id):
        redactor = _container_redactor(container)
        group = container.labels.get(LABEL_GROUP)
        raw = container.logs(stdout=True, stderr=True, timestamps=True)
        for line in raw.decode(errors="replace").splitlines():
            stamp, _, text = line.partition(" ")
            entries.append(LogEntry(redactor.text(text), group, "INFO", stamp))
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
