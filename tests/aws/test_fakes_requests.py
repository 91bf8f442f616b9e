"""The AWS fakes: request validation, injected faults, the request log and its replay
to moto, and what a stopped server leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from fakes.account import CONTAINER_LABEL, ROLE_ARN
from fakes.containers import JOB_LABEL, SERVER_LABEL
from fakes.moto_replay import replay_create_training_job
from fakes.training_calls import (
    eventually,
    training_job_request,
    wait_for_status,
)

# One line: model patterns such as ".*" do not match a newline, so neither does SageMaker.
SIGTERM_AWARE_SLEEP = (
    "import signal, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *_: (print('got SIGTERM', flush=True), sys.exit(0))); "
    "print('started', flush=True); "
    "time.sleep(60)"
)


def python_job(image: str, code: str, **fields: Any) -> dict[str, Any]:
    """A request running ``python3 -c code`` in ``image``."""
    return training_job_request(image, "python3", "-c", code, **fields)


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """(code, message) of a ClientError."""
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def containers_of_job(docker_engine: Any, name: str) -> list[Any]:
    """Every container (any state) of the job called ``name``."""
    return list(docker_engine.containers.list(all=True, filters={"label": f"{JOB_LABEL}={name}"}))


# ------------------------------------------------------------- request validation


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"TrainingJobName": "bad_name"}, "at 'trainingJobName' failed to satisfy constraint"),
        ({"TrainingJobName": "a" * 64}, "length less than or equal to 63"),
        ({"Environment": {"K": "v" * 513}}, "length less than or equal to 512"),
        ({"RoleArn": "arn:aws:iam::123:role/too-short-account"}, "at 'roleArn'"),
        ({"StoppingCondition": {}}, "'stoppingCondition.maxRuntimeInSeconds'"),
    ],
)
def test_malformed_create_is_a_validation_exception(
    fake_sagemaker: Any, sagemaker_client: Any, fields: dict[str, Any], expected: str
) -> None:
    request = training_job_request("127.0.0.1:5000/never-run:1", **fields)

    with pytest.raises(ClientError) as raised:
        sagemaker_client.create_training_job(**request)

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert expected in message
    assert fake_sagemaker.call_count("CreateTrainingJob") == 1
    assert fake_sagemaker.jobs.jobs() == [] or all(
        job.name != request["TrainingJobName"] for job in fake_sagemaker.jobs.jobs()
    )


def test_duplicate_name_is_resource_in_use(fake_sagemaker: Any, sagemaker_client: Any) -> None:
    request = training_job_request("127.0.0.1:5000/flowyml-aws-fake-missing:404")
    sagemaker_client.create_training_job(**request)

    with pytest.raises(ClientError) as raised:
        sagemaker_client.create_training_job(**request)

    assert error_of(raised)[0] == "ResourceInUse"
    wait_for_status(sagemaker_client, request["TrainingJobName"])


def test_describing_an_unknown_job_is_what_sagemaker_answers(sagemaker_client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sagemaker_client.describe_training_job(TrainingJobName="no-such-job")

    assert error_of(raised) == ("ValidationException", "Requested resource not found.")


# ------------------------------------------------------------------------ faults


def test_throttling_is_retried_by_botocore_standard_mode(fake_sagemaker: Any) -> None:
    client = fake_sagemaker.client(retries={"mode": "standard", "max_attempts": 5})
    fake_sagemaker.faults.fail_next("ListTrainingJobs", "ThrottlingException", n=2)

    answer = client.list_training_jobs()

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert fake_sagemaker.call_count("ListTrainingJobs") == 3
    codes = [r.error_code for r in fake_sagemaker.requests.records("ListTrainingJobs")]
    assert codes == ["ThrottlingException", "ThrottlingException", None]


def test_internal_failure_is_a_500_that_surfaces_once_retries_run_out(
    fake_sagemaker: Any,
) -> None:
    # botocore's "max_attempts" counts retries only; "total_max_attempts" counts every call.
    client = fake_sagemaker.client(retries={"mode": "standard", "total_max_attempts": 2})
    fake_sagemaker.faults.fail_next("ListTrainingJobs", "InternalFailure", n=5)

    with pytest.raises(ClientError) as raised:
        client.list_training_jobs()

    assert error_of(raised)[0] == "InternalFailure"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert fake_sagemaker.call_count("ListTrainingJobs") == 2


def test_access_denied_surfaces_as_its_error_code(
    fake_sagemaker: Any, sagemaker_client: Any
) -> None:
    fake_sagemaker.faults.deny(operation="CreateTrainingJob")

    with pytest.raises(ClientError) as raised:
        sagemaker_client.create_training_job(**training_job_request("127.0.0.1:5000/x:1"))

    code, message = error_of(raised)
    assert code == "AccessDeniedException"
    assert "sagemaker:CreateTrainingJob" in message
    assert fake_sagemaker.jobs.jobs() == []


def test_missing_role_is_could_not_assume_role(fake_sagemaker: Any, sagemaker_client: Any) -> None:
    fake_sagemaker.faults.missing_role(ROLE_ARN)

    with pytest.raises(ClientError) as raised:
        sagemaker_client.create_training_job(**training_job_request("127.0.0.1:5000/x:1"))

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert message.startswith(f"Could not assume role {ROLE_ARN}")


# --------------------------------------------------------- request log and replay


def test_request_log_records_bodies_and_counts_per_job(
    fake_sagemaker: Any, sagemaker_client: Any
) -> None:
    request = training_job_request("127.0.0.1:5000/flowyml-aws-fake-missing:404")
    name = request["TrainingJobName"]
    sagemaker_client.create_training_job(**request)
    wait_for_status(sagemaker_client, name)

    (sent,) = fake_sagemaker.requests.bodies("CreateTrainingJob")

    assert sent == request
    assert fake_sagemaker.call_count("DescribeTrainingJob", job_name=name) >= 1
    assert fake_sagemaker.call_counts()["CreateTrainingJob"] == 1


def test_recorded_create_body_is_accepted_by_moto_sagemaker(
    fake_sagemaker: Any, sagemaker_client: Any, moto_sagemaker_client: Any
) -> None:
    request = training_job_request(
        "127.0.0.1:5000/flowyml-aws-fake-missing:404",
        environment={"FLOWYML_STEP": "train"},
        VpcConfig={"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-0123"]},
    )
    request["OutputDataConfig"]["KmsKeyId"] = "alias/flowyml-test"
    sagemaker_client.create_training_job(**request)
    wait_for_status(sagemaker_client, request["TrainingJobName"])
    (recorded,) = fake_sagemaker.requests.bodies("CreateTrainingJob")

    described = replay_create_training_job(moto_sagemaker_client, recorded)

    for key in ("AlgorithmSpecification", "RoleArn", "ResourceConfig", "StoppingCondition"):
        # moto adds defaults of its own (e.g. MetricDefinitions); what was sent must be kept.
        assert recorded[key] == described[key] or (
            recorded[key].items() <= described[key].items()
        ), key
    assert described["TrainingJobName"].startswith(recorded["TrainingJobName"][:40])


def test_replay_rejects_a_shape_botocore_would_not_send(moto_sagemaker_client: Any) -> None:
    request = training_job_request("127.0.0.1:5000/x:1")
    request["ResourceConfig"]["InstanceCount"] = "one"

    with pytest.raises(ParamValidationError):
        replay_create_training_job(moto_sagemaker_client, request)


# ------------------------------------------------------------------ housekeeping


def test_a_stopped_server_leaves_no_labelled_container(
    make_sagemaker: Any, probe_image: str, docker_engine: Any
) -> None:
    server = make_sagemaker()
    client = server.client()
    request = python_job(probe_image, SIGTERM_AWARE_SLEEP)
    client.create_training_job(**request)
    wait_for_status(client, request["TrainingJobName"], statuses=["InProgress"])
    eventually(server.launcher.leftovers, lambda left: len(left) == 1)

    server.stop()

    labels = [f"{CONTAINER_LABEL}=1", f"{SERVER_LABEL}={server.server_id}"]
    assert docker_engine.containers.list(all=True, filters={"label": labels}) == []
