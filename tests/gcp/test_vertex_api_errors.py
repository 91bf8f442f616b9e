"""API errors: transient ones are retried, refusals become a BackendError naming what."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from flowyml.errors import BackendError
from flowyml_gcp.api import GoogleApis, is_transient, translate_error
from flowyml_gcp.config import VertexAIConfig

CONFIG = VertexAIConfig(
    project_id="my-project-123",
    region="europe-west4",
    service_account="runner@my-project-123.iam.gserviceaccount.com",
    retry_initial_seconds=0.01,
    retry_deadline_seconds=0.5,
)


@pytest.mark.parametrize(
    "exc",
    [
        exceptions.ServiceUnavailable("x"),
        exceptions.ResourceExhausted("x"),
        exceptions.DeadlineExceeded("x"),
    ],
)
def test_transient_errors_are_retried(exc):
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        exceptions.PermissionDenied("x"),
        exceptions.NotFound("x"),
        exceptions.InvalidArgument("x"),
    ],
)
def test_refusals_are_not_retried(exc):
    assert not is_transient(exc)


def test_permission_denied_names_project_region_job_and_service_account():
    error = translate_error(
        exceptions.PermissionDenied("caller lacks aiplatform.customJobs.create"),
        CONFIG,
        "create the CustomJob of group 'train' of run r1",
    )
    text = str(error)
    assert isinstance(error, BackendError)
    for part in (
        "permission denied",
        "project 'my-project-123'",
        "region 'europe-west4'",
        "group 'train' of run r1",
        "runner@my-project-123.iam.gserviceaccount.com",
        "roles/aiplatform.user",
    ):
        assert part in text, part


def test_not_found_names_the_job():
    name = "projects/p/locations/europe-west4/customJobs/42"
    text = str(translate_error(exceptions.NotFound("gone"), CONFIG, f"get job {name}"))
    assert "not found" in text and name in text and "my-project-123" in text


def test_invalid_argument_says_what_to_check():
    text = str(translate_error(exceptions.InvalidArgument("bad machine"), CONFIG, "create job"))
    assert "rejected" in text and "bad machine" in text and "machine type" in text


def test_call_retries_transient_errors_then_succeeds():
    apis = GoogleApis(CONFIG)
    answers = [exceptions.ResourceExhausted("busy"), exceptions.ServiceUnavailable("down"), "ok"]

    def flaky(retry):
        return retry(lambda: _next(answers))()

    assert apis.call("CreateCustomJob", flaky, "create job") == "ok"
    assert apis.counter.calls["CreateCustomJob"] == 3


def test_call_gives_up_at_the_deadline_with_a_backend_error():
    apis = GoogleApis(CONFIG)

    def always_busy(retry):
        return retry(lambda: _raise(exceptions.ResourceExhausted("quota")))()

    with pytest.raises(BackendError, match="did not answer .* within 0.5 s of retries: .*quota"):
        apis.call("CreateCustomJob", always_busy, "create job")


def test_call_turns_permission_denied_into_a_backend_error_at_once():
    apis = GoogleApis(CONFIG)

    def denied(retry):
        return retry(lambda: _raise(exceptions.PermissionDenied("no")))()

    with pytest.raises(BackendError, match="permission denied"):
        apis.call("GetCustomJob", denied, "get job x")
    assert apis.counter.calls["GetCustomJob"] == 1


def _next(answers):
    value = answers.pop(0)
    if isinstance(value, Exception):
        raise value
    return value


def _raise(exc):
    raise exc
