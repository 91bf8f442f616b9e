"""AWS refusals and transient errors, as the sagemaker backend meets them.

Throttling and 5xx are retried by botocore (standard mode); access denied, a role
SageMaker cannot assume, a missing bucket and a request SageMaker refuses become a
``BackendError`` naming the resource. The requests the backend sends are also replayed
against moto's own SageMaker.
"""

from __future__ import annotations

import json
from typing import Any

from fakes.account import ROLE_ARN
from fakes.moto_replay import replay_create_training_job
from sagemaker_harness import *  # noqa: F403 - the shared fixtures
from sagemaker_harness import project_pipeline

from flowyml_aws.clients import AwsClients
from flowyml_aws.config import SageMakerConfig


def run_failing(orchestrator: Any, project: Any, run_id: str) -> dict[str, Any]:
    submission = orchestrator.run_pipeline(
        project_pipeline(project, "failing"), run_id, echo_logs=False
    )
    submission.wait(180)
    details: dict[str, Any] = orchestrator.get_run_details(run_id)
    return details


def step_errors(details: dict[str, Any]) -> str:
    return " ".join(
        str(result.get("error") or "")
        for group in details["groups"].values()
        for result in group["step_results"].values()
    )


def test_throttling_and_server_errors_are_retried_and_the_run_goes_on(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    sagemaker.faults.fail_next("CreateTrainingJob", "ThrottlingException", n=2)
    sagemaker.faults.fail_next("DescribeTrainingJob", "InternalFailure", n=2)

    details = run_failing(orchestrator, sagemaker_project, "throttled-run")

    assert "bad input 3: cannot double it" in step_errors(details)  # the steps really ran
    codes = [r.error_code for r in sagemaker.requests.records("CreateTrainingJob")]
    assert codes[:3] == ["ThrottlingException", "ThrottlingException", None]


def test_access_denied_is_a_clear_error_and_nothing_runs(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    sagemaker.faults.deny(operation="CreateTrainingJob")

    details = run_failing(orchestrator, sagemaker_project, "denied-run")

    error = step_errors(details)
    assert details["status"] == "failed"
    assert "AWS denied access to create training job" in error
    assert f"may pass role '{ROLE_ARN}'" in error
    assert sagemaker.jobs.jobs() == []


def test_missing_role_names_the_role(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    sagemaker.faults.missing_role(ROLE_ARN)

    error = step_errors(run_failing(orchestrator, sagemaker_project, "no-role-run"))

    assert f"SageMaker cannot use role '{ROLE_ARN}'" in error
    assert "trusts sagemaker.amazonaws.com" in error


def test_missing_bucket_fails_validation_naming_it(sagemaker_settings: dict[str, Any]) -> None:
    from flowyml_aws import SageMakerOrchestrator

    backend = SageMakerOrchestrator(**{**sagemaker_settings, "s3_bucket": "s3://no-such-bkt"})

    assert not backend.validate()
    assert "s3://no-such-bkt" in backend.validation_errors[0]
    assert "does not exist" in backend.validation_errors[0]


def test_throttling_past_the_attempts_says_so(sagemaker_server: Any, sagemaker: Any) -> None:
    from flowyml.backend import BackendError

    config = SageMakerConfig(
        role_arn=ROLE_ARN,
        s3_bucket="s3://b",
        retry_max_attempts=2,
        endpoints={"sagemaker": sagemaker_server.endpoint},
    )
    sagemaker.faults.fail_next("ListTrainingJobs", "ThrottlingException", n=5)

    try:
        AwsClients(config).call("sagemaker", "list_training_jobs", "list training jobs")
    except BackendError as exc:
        assert "kept throttling the request to list training jobs" in str(exc)
    else:
        raise AssertionError("no BackendError")
    assert sagemaker.call_count("ListTrainingJobs") == 2


def test_create_requests_are_accepted_by_moto_sagemaker_too(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any, moto_sagemaker_client: Any
) -> None:
    run_failing(orchestrator, sagemaker_project, "replayed-run")
    bodies = sagemaker.requests.bodies("CreateTrainingJob")

    described = [replay_create_training_job(moto_sagemaker_client, body) for body in bodies]

    assert len(described) == 2
    for body, seen in zip(bodies, described, strict=True):
        spec = seen["AlgorithmSpecification"]
        assert spec["TrainingImage"] == body["AlgorithmSpecification"]["TrainingImage"]
        assert seen["RoleArn"] == ROLE_ARN
        assert json.dumps(body["Environment"])  # plain strings only


def test_ecr_registry_is_pushed_to_with_a_token_from_get_authorization_token(
    moto_server: Any,
) -> None:
    from flowyml_aws.image_push import ecr_auth, image_repository, is_ecr

    config = SageMakerConfig(
        role_arn=ROLE_ARN,
        s3_bucket="s3://b",
        endpoints={"ecr": moto_server.endpoint, "sts": moto_server.endpoint},
    )
    clients = AwsClients(config)

    repository = image_repository(clients)
    auth = ecr_auth(clients)

    assert repository == "123456789012.dkr.ecr.us-east-1.amazonaws.com/flowyml"
    assert is_ecr(repository) and not is_ecr("127.0.0.1:5000/x")
    assert auth["username"] == "AWS" and auth["password"]
    assert clients.calls["GetAuthorizationToken"] == 1
