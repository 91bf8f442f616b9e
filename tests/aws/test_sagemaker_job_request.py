"""The CreateTrainingJob body, the job states, the instance table and the environment
packing: pure functions, no server."""

from __future__ import annotations

import json

import botocore.session
import pytest
from fakes.account import ROLE_ARN

from flowyml.backend import ConfigError, ExecutionStatus, ResourceConfig
from flowyml_aws.config import SageMakerConfig, config_problems, redacted
from flowyml_aws.entry import prepare
from flowyml_aws.instance_types import instance_type_for, instance_types, table_date
from flowyml_aws.job_request import TAG_GROUP, TAG_RUN_ID, job_name, training_job_request
from flowyml_aws.job_states import PRIMARY_STATUS, SECONDARY_STATUS, is_timeout, status_of

MODEL = botocore.session.get_session().get_service_model("sagemaker")
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf"


def config(**fields: object) -> SageMakerConfig:
    return SageMakerConfig(role_arn=ROLE_ARN, s3_bucket="s3://bucket", **fields)


def request(**fields: object) -> dict:
    defaults: dict = {
        "config": config(),
        "name": "fm-12345678-train-abcdef",
        "image_uri": "127.0.0.1:5000/x:1",
        "args": ["step-runner", "--run-id", "r1", "--group", "train"],
        "env": {"A": "1"},
        "resources": ResourceConfig(),
        "run_id": "r1",
        "group": "train",
        "pipeline": "p",
        "output_uri": "s3://bucket/runs/r1/jobs",
        "timeout": None,
    }
    return training_job_request(**{**defaults, **fields})


def test_every_training_job_status_of_the_model_is_mapped() -> None:
    assert set(MODEL.shape_for("TrainingJobStatus").enum) == set(PRIMARY_STATUS)
    assert set(MODEL.shape_for("SecondaryStatus").enum) == set(SECONDARY_STATUS)


@pytest.mark.parametrize(
    ("primary", "secondary", "expected"),
    [
        ("InProgress", "Pending", ExecutionStatus.QUEUED),
        ("InProgress", "Downloading", ExecutionStatus.PROVISIONING),
        ("InProgress", "Training", ExecutionStatus.RUNNING),
        ("Stopping", "Stopping", ExecutionStatus.CANCELLING),
        ("Stopped", "Stopped", ExecutionStatus.CANCELLED),
        ("Stopped", "MaxRuntimeExceeded", ExecutionStatus.FAILED),
        ("Completed", "Completed", ExecutionStatus.SUCCESS),
        ("Failed", "Failed", ExecutionStatus.FAILED),
        ("InProgress", "SomethingNew", ExecutionStatus.RUNNING),
    ],
)
def test_status_pair_maps_to_execution_status(
    primary: str, secondary: str, expected: ExecutionStatus
) -> None:
    assert status_of(primary, secondary) is expected


def test_max_runtime_is_a_timeout_whether_stopped_or_failed() -> None:
    assert is_timeout("Stopped", "MaxRuntimeExceeded", None)
    assert is_timeout("Failed", "Failed", "MaxRuntimeExceeded: Training job took too long")
    assert not is_timeout("Stopped", "Stopped", None)


def test_request_runs_the_entry_wrapper_with_the_step_runner_arguments() -> None:
    body = request()

    algorithm = body["AlgorithmSpecification"]
    assert algorithm["ContainerEntrypoint"] == ["python", "-m", "flowyml_aws.entry"]
    assert algorithm["ContainerArguments"][0] == "step-runner"
    assert body["RoleArn"] == ROLE_ARN
    assert body["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    tags = {t["Key"]: t["Value"] for t in body["Tags"]}
    assert tags[TAG_RUN_ID] == "r1" and tags[TAG_GROUP] == "train"


def test_request_carries_timeout_vpc_and_kms_keys() -> None:
    body = request(
        config=config(
            subnets=["subnet-1"],
            security_group_ids=["sg-1"],
            output_kms_key="alias/out",
            volume_kms_key="alias/vol",
        ),
        timeout=30.0,
        resources=ResourceConfig(cpu=8, memory="20Gi", disk_gb=50),
    )

    assert body["StoppingCondition"]["MaxRuntimeInSeconds"] == 31
    assert body["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    assert body["OutputDataConfig"]["KmsKeyId"] == "alias/out"
    assert body["ResourceConfig"] == {
        "InstanceType": "ml.m5.2xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 50,
        "VolumeKmsKeyId": "alias/vol",
    }


def test_secrets_go_by_arn_never_by_value() -> None:
    body = request(config=config(secrets={"API_TOKEN": SECRET_ARN}))

    assert json.loads(body["Environment"]["FLOWYML_AWS_SECRETS"]) == {"API_TOKEN": SECRET_ARN}
    assert "API_TOKEN" not in body["Environment"]


def test_long_values_are_split_and_the_entry_joins_them_back() -> None:
    value = "x" * 1300
    body = request(env={"BIG": value, "SMALL": "s"})
    env = body["Environment"]

    assert all(len(v) <= 512 for v in env.values())
    rebuilt = dict(env)
    argv = prepare(rebuilt, ["step-runner"])
    assert rebuilt["BIG"] == value and rebuilt["SMALL"] == "s"
    assert argv == ["step-runner"]
    assert not [k for k in rebuilt if "PART" in k or k == "FLOWYML_AWS_SPLIT"]


def test_arguments_too_long_for_the_request_travel_in_the_environment() -> None:
    steps = ",".join(f"step_number_{i:03d}" for i in range(40))
    args = ["step-runner", "--group", "g", "--steps", steps]
    body = request(args=args)
    env = dict(body["Environment"])

    assert "ContainerArguments" not in body["AlgorithmSpecification"]
    assert prepare(env, []) == args


def test_environment_beyond_a_hundred_variables_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SageMaker takes 100"):
        request(env={f"V{i}": "v" for i in range(120)})


def test_job_names_fit_sagemaker_and_never_repeat() -> None:
    names = {job_name("run-" + "r" * 80, "a very long group name " * 5) for _ in range(50)}

    pattern = MODEL.shape_for("TrainingJobName").metadata["pattern"]
    assert len(names) == 50
    assert all(len(n) <= 63 for n in names)
    import re

    assert all(re.fullmatch(pattern.strip("^$"), n) for n in names)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (ResourceConfig(), "ml.m5.large"),
        (ResourceConfig(cpu=2, memory="4Gi"), "ml.t3.medium"),
        (ResourceConfig(cpu=4, memory="30Gi"), "ml.r5.xlarge"),
        (ResourceConfig(gpu=1), "ml.g4dn.xlarge"),
        (ResourceConfig(gpu=1, gpu_type="NVIDIA_TESLA_V100"), "ml.p3.2xlarge"),
        (ResourceConfig(gpu=4, gpu_type="A10G"), "ml.g5.12xlarge"),
        (ResourceConfig(cpu=64, machine_type="ml.c5.18xlarge"), "ml.c5.18xlarge"),
    ],
)
def test_smallest_fitting_instance_is_chosen(resources: ResourceConfig, expected: str) -> None:
    assert instance_type_for(resources, "ml.m5.large") == expected


def test_instance_table_is_dated_and_every_type_exists_in_the_model() -> None:
    known = set(MODEL.shape_for("TrainingInstanceType").enum)

    assert table_date() >= "2025-01-01"
    assert {t.name for t in instance_types()} <= known


def test_no_fitting_instance_names_the_request() -> None:
    with pytest.raises(ConfigError, match="2000 vCPUs"):
        instance_type_for(ResourceConfig(cpu=2000), "ml.m5.large")


def test_config_problems_name_each_bad_setting() -> None:
    bad = SageMakerConfig(
        role_arn="role", s3_bucket="gs://x", subnets=["subnet-1"], secrets={"T": "plain"}
    )

    text = "; ".join(config_problems(bad))

    for word in ("role_arn", "s3_bucket", "security_group_ids", "Secrets Manager ARN"):
        assert word in text


def test_to_dict_masks_secret_env() -> None:
    from flowyml.backend import DockerConfig

    data = redacted(config(docker=DockerConfig(secret_env={"K": "hunter2"})))

    assert "hunter2" not in json.dumps(data)
