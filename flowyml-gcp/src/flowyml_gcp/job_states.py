"""Vertex AI job states, and the FlowyML status each one stands for.

The mapping is by state *name* (``JOB_STATE_RUNNING``...), so this module does not import
``google.cloud.aiplatform_v1``; a test checks that every member of ``JobState`` is mapped.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import ExecutionStatus

__all__ = ["JOB_STATE_STATUS", "state_name", "status_of"]

JOB_STATE_STATUS: dict[str, ExecutionStatus] = {
    "JOB_STATE_UNSPECIFIED": ExecutionStatus.UNKNOWN,
    "JOB_STATE_QUEUED": ExecutionStatus.QUEUED,
    # "The service is preparing to run the job": machines are being provisioned.
    "JOB_STATE_PENDING": ExecutionStatus.PROVISIONING,
    "JOB_STATE_RUNNING": ExecutionStatus.RUNNING,
    "JOB_STATE_SUCCEEDED": ExecutionStatus.SUCCESS,
    "JOB_STATE_FAILED": ExecutionStatus.FAILED,
    "JOB_STATE_CANCELLING": ExecutionStatus.CANCELLING,
    "JOB_STATE_CANCELLED": ExecutionStatus.CANCELLED,
    # Paused jobs neither run nor are finished: they wait to be resumed.
    "JOB_STATE_PAUSED": ExecutionStatus.PENDING,
    # Expired before completing: the work was not done.
    "JOB_STATE_EXPIRED": ExecutionStatus.FAILED,
    # A running job whose settings are being changed keeps running.
    "JOB_STATE_UPDATING": ExecutionStatus.RUNNING,
    # Some of the work failed: for one step group that is a failure.
    "JOB_STATE_PARTIALLY_SUCCEEDED": ExecutionStatus.FAILED,
}


def state_name(state: Any) -> str:
    """The name of a ``JobState`` given as the enum, its name or its number."""
    if isinstance(state, str):
        return state
    name = getattr(state, "name", None)
    if isinstance(name, str):
        return name
    from google.cloud.aiplatform_v1.types import JobState

    return str(JobState(int(state)).name)


def status_of(state: Any) -> ExecutionStatus:
    """The ``ExecutionStatus`` of a Vertex ``JobState`` (``UNKNOWN`` for a new state)."""
    return JOB_STATE_STATUS.get(state_name(state), ExecutionStatus.UNKNOWN)
