"""The flowyml_run_crashed hook of flowyml-aws: a crashed run's active jobs are stopped."""

from __future__ import annotations

from typing import Any

from fakes.account import ROLE_ARN
from fakes.training_calls import wait_for_status
from sagemaker_harness import *  # noqa: F403 - the shared fixtures

from flowyml_aws.config import SageMakerConfig
from flowyml_aws.crashed_runs import stop_crashed_run_jobs
from flowyml_aws.job_request import job_name, training_job_request


def test_active_jobs_of_a_crashed_run_are_stopped_and_others_left(
    sagemaker: Any, sagemaker_settings: dict[str, Any], probe_image: str
) -> None:
    from flowyml.backend import ResourceConfig

    config = SageMakerConfig(**sagemaker_settings)
    client = sagemaker.client()
    names = {}
    for run_id in ("crashed-run", "other-run"):
        names[run_id] = job_name(run_id, "train")
        body = training_job_request(
            config=config,
            name=names[run_id],
            image_uri=probe_image,
            args=["x"],
            env={},
            resources=ResourceConfig(),
            run_id=run_id,
            group="train",
            pipeline="p",
            output_uri="s3://b/jobs",
            timeout=None,
        )
        body["AlgorithmSpecification"]["ContainerEntrypoint"] = ["sleep", "60"]
        del body["AlgorithmSpecification"]["ContainerArguments"]
        client.create_training_job(**body)

    stopped = stop_crashed_run_jobs("crashed-run", [config])

    assert stopped == [names["crashed-run"]]
    assert wait_for_status(client, names["crashed-run"])["TrainingJobStatus"] == "Stopped"
    assert (
        client.describe_training_job(TrainingJobName=names["other-run"])["TrainingJobStatus"]
        == "InProgress"
    )
    client.stop_training_job(TrainingJobName=names["other-run"])
    wait_for_status(client, names["other-run"])


def test_unreachable_sagemaker_is_skipped_quietly() -> None:
    config = SageMakerConfig(
        role_arn=ROLE_ARN,
        s3_bucket="s3://b",
        retry_max_attempts=1,
        connect_timeout_seconds=1,
        endpoints={"sagemaker": "http://127.0.0.1:9"},
    )

    assert stop_crashed_run_jobs("any-run", [config]) == []
