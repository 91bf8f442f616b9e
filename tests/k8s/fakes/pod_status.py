"""The ``status`` a kubelet reports for a pod at each step, as pure functions of the pod.

Each function rewrites ``pod["status"]`` in place (the caller records the change), with
the fields the official client's ``V1PodStatus`` reads: ``phase``, ``conditions``,
``containerStatuses[].state`` (one of ``waiting``, ``running``, ``terminated``), and
``reason``/``message`` for evictions.
"""

from __future__ import annotations

from typing import Any

from .scheduler import NODE_NAME
from .store import now_rfc3339

__all__ = [
    "set_evicted",
    "set_running",
    "set_scheduled",
    "set_terminated",
    "set_unschedulable",
    "set_waiting",
]

Pod = dict[str, Any]
_CONDITIONS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")


def _condition(
    kind: str, status: bool, reason: str | None = None, message: str | None = None
) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": kind,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": now_rfc3339(),
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _set_conditions(pod: Pod, scheduled: bool, ready: bool, reason: str | None = None) -> None:
    old = {c["type"]: c for c in pod["status"].get("conditions", [])}
    wanted = {"PodScheduled": scheduled, "Initialized": True, "ContainersReady": ready}
    wanted["Ready"] = ready
    conditions = []
    for kind in _CONDITIONS:
        if kind != "PodScheduled" and not scheduled:
            continue
        previous = old.get(kind)
        if previous is not None and previous["status"] == ("True" if wanted[kind] else "False"):
            conditions.append(previous)
        else:
            conditions.append(_condition(kind, wanted[kind], reason if not wanted[kind] else None))
    pod["status"]["conditions"] = conditions


def _container_status(pod: Pod, state: dict[str, Any], ready: bool = False) -> list[Any]:
    container = pod["spec"]["containers"][0]
    old = (pod["status"].get("containerStatuses") or [{}])[0]
    status = {
        "name": container["name"],
        "image": container["image"],
        "imageID": old.get("imageID", ""),
        "ready": ready,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
        "lastState": {},
    }
    if old.get("containerID"):
        status["containerID"] = old["containerID"]
    return [status]


def set_unschedulable(pod: Pod, message: str) -> None:
    """Pending, ``PodScheduled=False`` with reason ``Unschedulable`` and the message."""
    pod["status"] = {
        "phase": "Pending",
        "qosClass": "BestEffort",
        "conditions": [_condition("PodScheduled", False, "Unschedulable", message)],
    }


def set_scheduled(pod: Pod) -> None:
    """Bound to the node: Pending with the container ``ContainerCreating``."""
    pod["spec"]["nodeName"] = NODE_NAME
    pod["status"] = {
        "phase": "Pending",
        "hostIP": "127.0.0.1",
        "qosClass": "BestEffort",
        "startTime": now_rfc3339(),
    }
    _set_conditions(pod, True, False, "ContainersNotReady")
    set_waiting(pod, "ContainerCreating", None)


def set_waiting(pod: Pod, reason: str, message: str | None) -> None:
    """The container waits: ``ContainerCreating``, ``ErrImagePull``, ``ImagePullBackOff``…"""
    waiting: dict[str, Any] = {"reason": reason}
    if message:
        waiting["message"] = message
    pod["status"]["containerStatuses"] = _container_status(pod, {"waiting": waiting})


def set_running(pod: Pod, container_id: str, started_at: str) -> None:
    """Running and ready (the fake has no probes)."""
    pod["status"]["phase"] = "Running"
    running = _container_status(pod, {"running": {"startedAt": started_at}}, ready=True)
    running[0]["containerID"] = f"docker://{container_id}"
    pod["status"]["containerStatuses"] = running
    _set_conditions(pod, True, True)


def set_terminated(
    pod: Pod, exit_code: int, reason: str, started_at: str | None, finished_at: str | None
) -> None:
    """Exited: Succeeded for exit 0, else Failed; ``reason`` Completed, Error or OOMKilled."""
    terminated: dict[str, Any] = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": started_at or now_rfc3339(),
        "finishedAt": finished_at or now_rfc3339(),
    }
    if exit_code > 128:
        terminated["signal"] = exit_code - 128
    container_id = (pod["status"].get("containerStatuses") or [{}])[0].get("containerID")
    if container_id:
        terminated["containerID"] = container_id
    pod["status"]["phase"] = "Succeeded" if exit_code == 0 else "Failed"
    pod["status"]["containerStatuses"] = _container_status(pod, {"terminated": terminated})
    _set_conditions(pod, True, False, "PodCompleted")


def set_evicted(pod: Pod, message: str) -> None:
    """Failed with ``reason=Evicted``, as the kubelet reports a pod it evicted."""
    pod["status"]["phase"] = "Failed"
    pod["status"]["reason"] = "Evicted"
    pod["status"]["message"] = message
    _set_conditions(pod, True, False, "PodFailed")
    pod["status"]["conditions"].append(
        _condition("DisruptionTarget", True, "TerminationByKubelet", message)
    )
