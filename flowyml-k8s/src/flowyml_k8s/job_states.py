"""How a group's Job stands, read from the Job's conditions and its pod's states.

One pure function, :func:`job_state`, turns what the apiserver says into a status, the
facts worth showing, and — for an end that is not a plain exit — the reason in words:
OOMKilled, a signal, DeadlineExceeded, an image that cannot be pulled (the image named),
a pod the scheduler cannot place (its message), an evicted pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowyml.backend import ExecutionStatus, describe_exit

__all__ = ["IMAGE_PULL_FAILURES", "JobState", "job_state"]

Obj = dict[str, Any]

# Waiting reasons after which the image will not come by waiting longer.
IMAGE_PULL_FAILURES = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
# Waiting reasons that may clear up (a Secret created late...), within the start deadline.
_START_WAITS = frozenset({"CreateContainerConfigError", "CreateContainerError"})


@dataclass
class JobState:
    """Where a Job stands.

    Attributes:
        status: the group's status.
        facts: what to show in the group's details (phase, pod, waiting reason...).
        exit_code: the container's exit code once it ended (``None``: unknown).
        reason: the end in words, when not a plain exit (``None`` otherwise).
        timed_out: Kubernetes ended it at ``activeDeadlineSeconds``.
        fail_now: it cannot start (image), so the group fails without waiting.
        waiting: it is not running yet for a reason that may clear (unschedulable...).
        pod: the name of its pod, once one exists.
        oom_killed: its container was killed for exceeding its memory limit.
    """

    status: ExecutionStatus
    facts: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    reason: str | None = None
    timed_out: bool = False
    fail_now: bool = False
    waiting: str | None = None
    pod: str | None = None
    oom_killed: bool = False


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def _container(pod: Obj) -> Obj:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return dict(statuses[0]) if statuses else {}


def _latest(pods: list[Obj]) -> Obj | None:
    if not pods:
        return None
    return max(pods, key=lambda p: p.get("metadata", {}).get("creationTimestamp") or "")


def _oom_killed(pod: Obj | None) -> bool:
    """Whether the pod's container was killed for exceeding its memory limit."""
    if pod is None:
        return False
    state = _container(pod)
    ended = (state.get("state") or {}).get("terminated") or (state.get("lastState") or {}).get(
        "terminated"
    )
    return bool(ended and ended.get("reason") == "OOMKilled")


def _terminated(pod: Obj, memory: str | None) -> tuple[int | None, str | None]:
    """Exit code and reason of a pod whose container ended."""
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted":
        return 137, f"was evicted from its node: {status.get('message') or 'no message'}"
    container = _container(pod)
    ended = (container.get("state") or {}).get("terminated") or (
        container.get("lastState") or {}
    ).get("terminated")
    if not ended:
        return None, None
    code = int(ended.get("exitCode", 1))
    if ended.get("reason") == "OOMKilled":
        limit = f" of {memory}" if memory else ""
        return code, f"was killed for running out of memory (OOMKilled, memory limit{limit})"
    signal_number = ended.get("signal")
    if signal_number and code == 0:
        code = 128 + int(signal_number)
    return code, None


def job_state(job: Obj | None, pods: list[Obj], memory: str | None = None) -> JobState:
    """The state of a Job (``None``: it no longer exists) and its pods.

    Args:
        job: the Job, as the apiserver returns it.
        pods: its pods (selected by ``job-name``).
        memory: the group's memory limit, to name it in an OOM kill.
    """
    pod = _latest(pods)
    pod_name = pod["metadata"]["name"] if pod else None
    if job is None:
        return JobState(ExecutionStatus.CANCELLED, {"phase": "Deleted"}, pod=pod_name)
    facts: dict[str, Any] = {"pod": pod_name}
    status = job.get("status") or {}
    if status.get("startTime"):
        facts["started_at"] = status["startTime"]
    if status.get("completionTime"):
        facts["finished_at"] = status["completionTime"]
    if _condition(job, "Complete") or _condition(job, "SuccessCriteriaMet"):
        return JobState(ExecutionStatus.SUCCESS, {**facts, "phase": "Complete"}, 0, pod=pod_name)
    failed = _condition(job, "Failed") or _condition(job, "FailureTarget")
    deleting = (job.get("metadata") or {}).get("deletionTimestamp")
    if failed and deleting and str(failed.get("lastTransitionTime") or "") >= deleting:
        # It failed because it is being deleted (its pod was killed with it): the deletion
        # is what happened, and it is told once the Job is gone.
        failed = None
    if failed:
        facts["phase"] = f"Failed ({failed.get('reason')})"
        facts["job_message"] = failed.get("message")
        if failed.get("reason") == "DeadlineExceeded":
            return JobState(ExecutionStatus.FAILED, facts, -9, timed_out=True, pod=pod_name)
        code, reason = _terminated(pod, memory) if pod else (None, None)
        if code is None and reason is None:
            reason = f"failed on Kubernetes ({failed.get('reason')}): {failed.get('message')}"
        return JobState(
            ExecutionStatus.FAILED, facts, code, reason, pod=pod_name, oom_killed=_oom_killed(pod)
        )
    if deleting:
        return JobState(ExecutionStatus.RUNNING, {**facts, "phase": "Deleting"}, pod=pod_name)
    if pod is None:
        pending = {**facts, "phase": "Pending"}
        return JobState(ExecutionStatus.PENDING, pending, waiting="no pod yet")
    return _pod_state(pod, facts, memory)


def _pod_state(pod: Obj, facts: dict[str, Any], memory: str | None) -> JobState:
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    name = pod["metadata"]["name"]
    facts = {**facts, "phase": phase}
    if phase in ("Succeeded", "Failed"):
        # The Job controller has not written its condition yet: the pod says how it ended.
        code, reason = _terminated(pod, memory)
        done = ExecutionStatus.SUCCESS if phase == "Succeeded" else ExecutionStatus.FAILED
        code = 0 if phase == "Succeeded" else code
        return JobState(done, facts, code, reason, pod=name, oom_killed=_oom_killed(pod))
    unscheduled = next(
        (
            c
            for c in status.get("conditions") or []
            if c.get("type") == "PodScheduled" and c.get("status") == "False"
        ),
        None,
    )
    if unscheduled:
        message = f"{unscheduled.get('reason')}: {unscheduled.get('message')}"
        facts["pending_reason"] = message
        return JobState(ExecutionStatus.PENDING, facts, waiting=message, pod=name)
    waiting = (_container(pod).get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason in IMAGE_PULL_FAILURES:
        image = _container(pod).get("image") or "?"
        message = waiting.get("message") or reason
        facts["pending_reason"] = f"{reason}: {message}"
        why = f"could not start: image {image!r} cannot be pulled ({reason}: {message})"
        return JobState(ExecutionStatus.FAILED, facts, 1, why, fail_now=True, pod=name)
    if reason in _START_WAITS:
        message = f"{reason}: {waiting.get('message')}"
        facts["pending_reason"] = message
        return JobState(ExecutionStatus.PENDING, facts, waiting=message, pod=name)
    if phase == "Running":
        return JobState(ExecutionStatus.RUNNING, facts, pod=name)
    return JobState(ExecutionStatus.PENDING, facts, pod=name)


def describe(state: JobState) -> str:
    """The end of a Job in words (for its log line)."""
    if state.reason:
        return state.reason
    if state.timed_out:
        return "ended at its activeDeadlineSeconds (DeadlineExceeded)"
    return describe_exit(state.exit_code if state.exit_code is not None else 1)
