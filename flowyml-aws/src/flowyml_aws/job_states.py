"""SageMaker training-job statuses, and the FlowyML status each pair stands for.

A job has a ``TrainingJobStatus`` and, finer, a ``SecondaryStatus``; the pair decides.
Every member of both enums of botocore's model is mapped (a test checks it), so a new
status shows up as a failing test rather than as ``unknown`` in a run.
"""

from __future__ import annotations

from flowyml.backend import ExecutionStatus

__all__ = [
    "PRIMARY_STATUS",
    "SECONDARY_STATUS",
    "TIMEOUT_STATUSES",
    "is_timeout",
    "status_of",
]

PRIMARY_STATUS: dict[str, ExecutionStatus] = {
    "InProgress": ExecutionStatus.RUNNING,
    "Completed": ExecutionStatus.SUCCESS,
    "Failed": ExecutionStatus.FAILED,
    "Stopping": ExecutionStatus.CANCELLING,
    "Stopped": ExecutionStatus.CANCELLED,
    # A finished job being deleted: its work ended, and no status says how.
    "Deleting": ExecutionStatus.UNKNOWN,
}

# Consulted while the job is InProgress or Stopped.
SECONDARY_STATUS: dict[str, ExecutionStatus] = {
    # Capacity is being found: the job waits in SageMaker's queue.
    "Pending": ExecutionStatus.QUEUED,
    "Starting": ExecutionStatus.PROVISIONING,
    "LaunchingMLInstances": ExecutionStatus.PROVISIONING,
    "PreparingTrainingStack": ExecutionStatus.PROVISIONING,
    "Downloading": ExecutionStatus.PROVISIONING,
    "DownloadingTrainingImage": ExecutionStatus.PROVISIONING,
    "Training": ExecutionStatus.RUNNING,
    # The step runner has ended and wrote its manifest; SageMaker uploads /opt/ml/model.
    "Uploading": ExecutionStatus.RUNNING,
    # A running job whose settings are being changed, or restarted after an instance
    # failure: it still runs.
    "Updating": ExecutionStatus.RUNNING,
    "Restarting": ExecutionStatus.RUNNING,
    "Stopping": ExecutionStatus.CANCELLING,
    "Stopped": ExecutionStatus.CANCELLED,
    # SageMaker stopped it at MaxRuntimeInSeconds / MaxWaitTimeInSeconds: the step did
    # not finish in its time, which is a failure, not a user's cancellation.
    "MaxRuntimeExceeded": ExecutionStatus.FAILED,
    "MaxWaitTimeExceeded": ExecutionStatus.FAILED,
    # A spot instance taken back: the work was not done.
    "Interrupted": ExecutionStatus.FAILED,
    "Completed": ExecutionStatus.SUCCESS,
    "Failed": ExecutionStatus.FAILED,
}

TIMEOUT_STATUSES = frozenset({"MaxRuntimeExceeded", "MaxWaitTimeExceeded"})


def status_of(primary: str, secondary: str | None = None) -> ExecutionStatus:
    """The ``ExecutionStatus`` of a job (``UNKNOWN`` for a status not known here)."""
    status = PRIMARY_STATUS.get(primary, ExecutionStatus.UNKNOWN)
    if secondary and primary in ("InProgress", "Stopped"):
        return SECONDARY_STATUS.get(secondary, status)
    return status


def is_timeout(primary: str, secondary: str | None, failure_reason: str | None) -> bool:
    """Whether SageMaker ended the job for running too long (reported either way: Stopped
    with ``MaxRuntimeExceeded``, or Failed with a reason saying so)."""
    if secondary in TIMEOUT_STATUSES:
        return True
    reason = failure_reason or ""
    return primary == "Failed" and any(reason.startswith(s) for s in TIMEOUT_STATUSES)
