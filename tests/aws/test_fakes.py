"""The loopback AWS services themselves, driven with the real boto3 and Docker."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fakes.cloudwatch_logs import LOG_GROUP
from fakes.containers import JOB_LABEL
from fakes.training_calls import (
    eventually,
    job_log_lines,
    training_job_request,
    unique_job_name,
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


# ---------------------------------------------------------------------------- moto


def test_s3_put_and_get_through_moto(s3_client: Any, s3_bucket: str) -> None:
    s3_client.put_object(Bucket=s3_bucket, Key="runs/1/out.json", Body=b'{"ok": 1}')

    body = s3_client.get_object(Bucket=s3_bucket, Key="runs/1/out.json")["Body"].read()

    assert body == b'{"ok": 1}'


def test_endpoint_variables_point_a_default_boto3_client_at_moto(
    aws_env: dict[str, str], s3_client: Any, s3_bucket: str
) -> None:
    import boto3

    s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"v")

    default_client = boto3.client("s3")  # no endpoint_url: AWS_ENDPOINT_URL_S3 decides

    assert default_client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"v"


def test_ecr_authorization_token_comes_from_moto(ecr_client: Any) -> None:
    data = ecr_client.get_authorization_token()["authorizationData"][0]

    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    assert password
    assert data["proxyEndpoint"].endswith(".amazonaws.com")


# ------------------------------------------------------------------ job lifecycle


def test_job_goes_in_progress_then_completed_with_its_output_in_cloudwatch(
    fake_sagemaker: Any, sagemaker_client: Any, logs_client: Any, probe_image: str
) -> None:
    request = python_job(probe_image, "print('hi')")
    name = request["TrainingJobName"]

    arn = sagemaker_client.create_training_job(**request)["TrainingJobArn"]
    first = sagemaker_client.describe_training_job(TrainingJobName=name)
    final = wait_for_status(sagemaker_client, name)

    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    assert first["TrainingJobStatus"] == "InProgress"
    assert final["TrainingJobStatus"] == "Completed"
    assert final["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in final["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert final["CreationTime"] <= final["TrainingStartTime"] <= final["TrainingEndTime"]
    assert "FailureReason" not in final
    assert job_log_lines(logs_client, name) == ["hi"]
    (stream,) = logs_client.describe_log_streams(
        logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    assert stream["logStreamName"].startswith(f"{name}/algo-1-")


def test_failing_exit_fails_the_job_with_the_exit_code(
    fake_sagemaker: Any, sagemaker_client: Any, probe_image: str
) -> None:
    request = python_job(probe_image, "import sys; print('boom', file=sys.stderr); sys.exit(3)")

    sagemaker_client.create_training_job(**request)
    final = wait_for_status(sagemaker_client, request["TrainingJobName"])

    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == ("Failed", "Failed")
    assert "exit code: 3" in final["FailureReason"]


def test_job_past_max_runtime_is_stopped_as_max_runtime_exceeded(
    fake_sagemaker: Any, sagemaker_client: Any, probe_image: str, docker_engine: Any
) -> None:
    request = python_job(probe_image, SIGTERM_AWARE_SLEEP, max_runtime=1)

    sagemaker_client.create_training_job(**request)
    final = wait_for_status(sagemaker_client, request["TrainingJobName"], timeout=30)

    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == (
        "Stopped",
        "MaxRuntimeExceeded",
    )
    assert containers_of_job(docker_engine, request["TrainingJobName"]) == []


def test_max_runtime_can_be_reported_as_failed(make_sagemaker: Any, probe_image: str) -> None:
    server = make_sagemaker(max_runtime_status="Failed")
    client = server.client()
    request = python_job(probe_image, SIGTERM_AWARE_SLEEP, max_runtime=1)

    client.create_training_job(**request)
    final = wait_for_status(client, request["TrainingJobName"], timeout=30)

    assert final["TrainingJobStatus"] == "Failed"
    assert final["FailureReason"].startswith("MaxRuntimeExceeded")


def test_stop_training_job_mid_run_stops_it_and_removes_its_container(
    fake_sagemaker: Any,
    sagemaker_client: Any,
    logs_client: Any,
    probe_image: str,
    docker_engine: Any,
) -> None:
    request = python_job(probe_image, SIGTERM_AWARE_SLEEP, max_runtime=120)
    name = request["TrainingJobName"]
    sagemaker_client.create_training_job(**request)
    eventually(lambda: job_log_lines(logs_client, name), lambda lines: "started" in lines)

    sagemaker_client.stop_training_job(TrainingJobName=name)
    stopping = sagemaker_client.describe_training_job(TrainingJobName=name)
    final = wait_for_status(sagemaker_client, name, timeout=30)

    assert stopping["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "got SIGTERM" in job_log_lines(logs_client, name)
    assert containers_of_job(docker_engine, name) == []


def test_stopping_a_finished_job_is_a_validation_error(
    fake_sagemaker: Any, sagemaker_client: Any, probe_image: str
) -> None:
    request = python_job(probe_image, "pass")
    sagemaker_client.create_training_job(**request)
    wait_for_status(sagemaker_client, request["TrainingJobName"])

    with pytest.raises(ClientError) as raised:
        sagemaker_client.stop_training_job(TrainingJobName=request["TrainingJobName"])

    assert error_of(raised) == (
        "ValidationException",
        "The request was rejected because the training job is in status Completed.",
    )


def test_missing_image_fails_the_job_naming_the_image(
    fake_sagemaker: Any, sagemaker_client: Any, docker_engine: Any
) -> None:
    image = "127.0.0.1:5000/flowyml-aws-fake-missing:404"
    request = training_job_request(image)

    sagemaker_client.create_training_job(**request)
    final = wait_for_status(sagemaker_client, request["TrainingJobName"])

    assert final["TrainingJobStatus"] == "Failed"
    assert image in final["FailureReason"]


def test_environment_reaches_the_container_and_host_mode_reaches_moto_s3(
    make_sagemaker: Any, s3_client: Any, s3_bucket: str, logs_client: Any, probe_image: str
) -> None:
    # Public, so the job can read it with a plain unsigned GET (the image has no boto3).
    s3_client.put_object(Bucket=s3_bucket, Key="input.txt", Body=b"from-s3", ACL="public-read")
    server = make_sagemaker(network_mode="host")
    client = server.client()
    code = (
        "import os, urllib.request; "
        "print(os.environ['GREETING'], os.environ['TRAINING_JOB_NAME']); "
        "url = os.environ['AWS_ENDPOINT_URL_S3'] + '/' + os.environ['BUCKET'] + '/input.txt'; "
        "print(urllib.request.urlopen(url, timeout=10).read().decode())"
    )
    request = python_job(probe_image, code, environment={"GREETING": "hello", "BUCKET": s3_bucket})

    client.create_training_job(**request)
    final = wait_for_status(client, request["TrainingJobName"])

    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    name = request["TrainingJobName"]
    assert job_log_lines(logs_client, name) == [f"hello {name}", "from-s3"]


def test_network_none_is_the_default_so_a_job_reaches_nothing(
    fake_sagemaker: Any, sagemaker_client: Any, moto_server: Any, probe_image: str
) -> None:
    code = f"import urllib.request; urllib.request.urlopen('{moto_server.endpoint}', timeout=5)"
    request = python_job(probe_image, code)

    sagemaker_client.create_training_job(**request)
    final = wait_for_status(sagemaker_client, request["TrainingJobName"])

    assert final["TrainingJobStatus"] == "Failed"


def test_list_training_jobs_filters_by_name_and_status(
    fake_sagemaker: Any, sagemaker_client: Any
) -> None:
    prefix = unique_job_name("list")
    missing_image = "127.0.0.1:5000/flowyml-aws-fake-missing:404"
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        sagemaker_client.create_training_job(**training_job_request(missing_image, name=name))
    for name in names:
        wait_for_status(sagemaker_client, name)

    listed = sagemaker_client.list_training_jobs(NameContains=prefix, StatusEquals="Failed")
    none_completed = sagemaker_client.list_training_jobs(
        NameContains=prefix, StatusEquals="Completed"
    )
    first_page = sagemaker_client.list_training_jobs(NameContains=prefix, MaxResults=2)

    summaries = listed["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in summaries] == names[::-1]  # newest first
    assert none_completed["TrainingJobSummaries"] == []
    assert len(first_page["TrainingJobSummaries"]) == 2
    assert "NextToken" in first_page


def test_tags_given_at_create_are_listed_and_can_be_added(
    fake_sagemaker: Any, sagemaker_client: Any
) -> None:
    request = training_job_request("127.0.0.1:5000/flowyml-aws-fake-missing:404")
    arn = sagemaker_client.create_training_job(**request)["TrainingJobArn"]

    sagemaker_client.add_tags(ResourceArn=arn, Tags=[{"Key": "flowyml:run", "Value": "r1"}])
    tags = sagemaker_client.list_tags(ResourceArn=arn)["Tags"]

    assert tags == [*request["Tags"], {"Key": "flowyml:run", "Value": "r1"}]
    wait_for_status(sagemaker_client, request["TrainingJobName"])
