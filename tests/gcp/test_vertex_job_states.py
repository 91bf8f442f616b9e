"""Every Vertex AI JobState maps to the ExecutionStatus it stands for."""

from __future__ import annotations

import pytest
from google.cloud.aiplatform_v1.types import JobState

from flowyml.records.status import ExecutionStatus
from flowyml_gcp.job_states import JOB_STATE_STATUS, state_name, status_of


def test_every_job_state_is_mapped():
    assert {state.name for state in JobState} == set(JOB_STATE_STATUS)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (JobState.JOB_STATE_UNSPECIFIED, ExecutionStatus.UNKNOWN),
        (JobState.JOB_STATE_QUEUED, ExecutionStatus.QUEUED),
        (JobState.JOB_STATE_PENDING, ExecutionStatus.PROVISIONING),
        (JobState.JOB_STATE_RUNNING, ExecutionStatus.RUNNING),
        (JobState.JOB_STATE_SUCCEEDED, ExecutionStatus.SUCCESS),
        (JobState.JOB_STATE_FAILED, ExecutionStatus.FAILED),
        (JobState.JOB_STATE_CANCELLING, ExecutionStatus.CANCELLING),
        (JobState.JOB_STATE_CANCELLED, ExecutionStatus.CANCELLED),
        (JobState.JOB_STATE_PAUSED, ExecutionStatus.PENDING),
        (JobState.JOB_STATE_EXPIRED, ExecutionStatus.FAILED),
        (JobState.JOB_STATE_UPDATING, ExecutionStatus.RUNNING),
        (JobState.JOB_STATE_PARTIALLY_SUCCEEDED, ExecutionStatus.FAILED),
    ],
)
def test_job_state_maps_to_status(state, expected):
    assert status_of(state) is expected
    assert status_of(state.name) is expected
    assert status_of(int(state)) is expected


def test_terminal_job_states_are_finished_statuses():
    terminal = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED", "PARTIALLY_SUCCEEDED"}
    for state in JobState:
        finished = state.name.removeprefix("JOB_STATE_") in terminal
        assert status_of(state).is_finished is finished, state.name


def test_unknown_state_name_is_unknown_status():
    assert status_of("JOB_STATE_FROM_THE_FUTURE") is ExecutionStatus.UNKNOWN
    assert state_name(4) == "JOB_STATE_SUCCEEDED"
