"""The ``CreateTrainingJob`` request that runs one step group, and the job's name.

:func:`training_job_request` is pure: it turns a group's ``ResourceConfig``, the step
runner's arguments and the backend's settings into the request body, so it is easy to
test and to replay against another implementation of the API.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from flowyml.backend import ConfigError, ResourceConfig
from flowyml_aws.config import SageMakerConfig
from flowyml_aws.instance_types import instance_type_for
from flowyml_aws.job_environment import (
    SECRETS_VARIABLE,
    EnvironmentTooLarge,
    pack_arguments,
    pack_environment,
)

__all__ = [
    "ENTRYPOINT",
    "TAG_GROUP",
    "TAG_MANAGED",
    "TAG_PIPELINE",
    "TAG_RUN_ID",
    "job_name",
    "run_prefix",
    "tag_value",
    "training_job_request",
]

TAG_RUN_ID = "flowyml:run-id"
TAG_GROUP = "flowyml:group"
TAG_PIPELINE = "flowyml:pipeline"
TAG_MANAGED = "flowyml:managed"
# Runs before the step runner: joins split variables, fetches secrets, then execs flowyml.
ENTRYPOINT = ["python", "-m", "flowyml_aws.entry"]
_TAG_CHARS = re.compile(r"[^\w.:/=+\-@ ]")
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9]+")


def tag_value(value: str) -> str:
    """``value`` with the characters tags refuse replaced, cut to 256 characters."""
    return _TAG_CHARS.sub("_", value)[:256]


def run_prefix(run_id: str) -> str:
    """The start of every job name of a run: ``fm-<8 hex of the run id>-``; another
    process finds a run's jobs by it (``NameContains``), then checks their tags."""
    return f"fm-{hashlib.sha256(run_id.encode()).hexdigest()[:8]}-"


def job_name(run_id: str, group: str) -> str:
    """A fresh job name for a group of a run, within SageMaker's 63 characters.

    Names are never reused (not even of finished jobs), so a relaunched group gets a new
    one: the run prefix, the group's name as far as it fits, and 6 random hex digits.
    """
    slug = _NAME_CHARS.sub("-", group).strip("-")[:44] or "group"
    return f"{run_prefix(run_id)}{slug}-{uuid.uuid4().hex[:6]}"


def training_job_request(
    *,
    config: SageMakerConfig,
    name: str,
    image_uri: str,
    args: list[str],
    env: dict[str, str],
    resources: ResourceConfig,
    run_id: str,
    group: str,
    pipeline: str,
    output_uri: str,
    timeout: float | None,
) -> dict[str, Any]:
    """The ``CreateTrainingJob`` body running ``flowyml ARGS`` in ``image_uri``.

    Args:
        config: the backend settings (role, instance default, VPC, keys, tags...).
        name: the job name.
        image_uri: the pushed image.
        args: arguments after ``flowyml`` (``step-runner ...``).
        env: the container's environment (no secret values: secrets go by ARN).
        resources: the group's resources (instance, disk).
        run_id: the run, for tags.
        group: the group, for tags.
        pipeline: the pipeline's name, for tags.
        output_uri: ``s3://`` folder for the job's own output.
        timeout: the group's timeout in seconds (``None``: ``max_runtime_seconds``).

    Raises:
        ConfigError: no instance fits, or the environment does not fit SageMaker's limits.
    """
    arguments, argv_env = pack_arguments(args)
    environment = {**env, **argv_env}
    if config.secrets:
        environment[SECRETS_VARIABLE] = json.dumps(config.secrets, sort_keys=True)
    try:
        packed = pack_environment(environment)
    except EnvironmentTooLarge as exc:
        raise ConfigError(f"group '{group}': {exc}") from None
    algorithm: dict[str, Any] = {
        "TrainingImage": image_uri,
        "TrainingInputMode": "File",
        "ContainerEntrypoint": list(ENTRYPOINT),
    }
    if arguments:
        algorithm["ContainerArguments"] = arguments
    runtime = config.max_runtime_seconds if not timeout else min(int(timeout) + 1, 2419200)
    resource_config: dict[str, Any] = {
        "InstanceType": instance_type_for(resources, config.instance_type),
        "InstanceCount": 1,
        "VolumeSizeInGB": resources.disk_gb or config.volume_size_gb,
    }
    output: dict[str, Any] = {"S3OutputPath": output_uri}
    if config.volume_kms_key:
        resource_config["VolumeKmsKeyId"] = config.volume_kms_key
    if config.output_kms_key:
        output["KmsKeyId"] = config.output_kms_key
    tags = {tag_value(k): tag_value(v) for k, v in config.tags.items()}
    tags.update(
        {
            TAG_RUN_ID: tag_value(run_id),
            TAG_GROUP: tag_value(group),
            TAG_PIPELINE: tag_value(pipeline),
            TAG_MANAGED: "1",
        }
    )
    if len(tags) > 50:
        raise ConfigError(
            f"group '{group}': SageMaker takes 50 tags, the job would have {len(tags)}"
        )
    body: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm,
        "RoleArn": config.role_arn,
        "OutputDataConfig": output,
        "ResourceConfig": resource_config,
        "StoppingCondition": {"MaxRuntimeInSeconds": runtime},
        "Environment": packed,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if config.subnets:
        body["VpcConfig"] = {
            "SecurityGroupIds": list(config.security_group_ids),
            "Subnets": list(config.subnets),
        }
    return body
