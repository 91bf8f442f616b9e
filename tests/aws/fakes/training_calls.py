"""What tests do with real boto3 clients of the fakes: build, wait for, read a job.

``training_job_request`` builds a valid ``CreateTrainingJob`` body for the probe image;
``wait_for_status`` polls ``DescribeTrainingJob`` with a deadline (no sleeps to wait for
things); ``job_log_lines`` reads a job's CloudWatch streams through the ``logs`` client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .account import ROLE_ARN
from .cloudwatch_logs import LOG_GROUP

__all__ = [
    "eventually",
    "job_log_lines",
    "training_job_request",
    "unique_job_name",
    "wait_for_status",
]

T = TypeVar("T")
FINISHED = ("Completed", "Failed", "Stopped")


def unique_job_name(prefix: str = "fake") -> str:
    """A fresh valid job name: ``<prefix>-<12 hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def training_job_request(
    image: str,
    *entrypoint: str,
    name: str | None = None,
    max_runtime: int = 120,
    environment: dict[str, str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid ``CreateTrainingJob`` body running ``entrypoint`` in ``image``.

    Args:
        image: ``TrainingImage``.
        entrypoint: ``ContainerEntrypoint`` (none: the image's own).
        name: ``TrainingJobName`` (default: :func:`unique_job_name`).
        max_runtime: ``StoppingCondition.MaxRuntimeInSeconds``.
        environment: ``Environment``.
        overrides: Top-level members to set or replace.
    """
    algorithm: dict[str, Any] = {"TrainingImage": image, "TrainingInputMode": "File"}
    if entrypoint:
        algorithm["ContainerEntrypoint"] = list(entrypoint)
    body: dict[str, Any] = {
        "TrainingJobName": name or unique_job_name(),
        "AlgorithmSpecification": algorithm,
        "RoleArn": ROLE_ARN,
        "OutputDataConfig": {"S3OutputPath": "s3://flowyml-test-artifacts/jobs"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
        "Tags": [{"Key": "flowyml:test", "Value": "fakes"}],
    }
    if environment:
        body["Environment"] = environment
    body.update(overrides)
    return body


def eventually(read: Callable[[], T], accept: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Call ``read`` until ``accept`` takes its value, or raise ``AssertionError`` at timeout."""
    deadline = time.monotonic() + timeout
    value = read()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not accepted after {timeout} s: {value!r}")
        time.sleep(0.1)
        value = read()
    return value


def wait_for_status(
    client: Any, name: str, statuses: Iterable[str] = FINISHED, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll ``DescribeTrainingJob`` until ``TrainingJobStatus`` is one of ``statuses``."""
    wanted = set(statuses)
    return eventually(
        lambda: dict(client.describe_training_job(TrainingJobName=name)),
        lambda job: job["TrainingJobStatus"] in wanted,
        timeout,
    )


def job_log_lines(logs_client: Any, name: str) -> list[str]:
    """Every message in the job's ``<name>/algo-1-*`` streams, oldest first."""
    streams = logs_client.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=name)
    lines: list[str] = []
    for stream in streams["logStreams"]:
        events = logs_client.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"], startFromHead=True
        )
        lines += [event["message"] for event in events["events"]]
    return lines
