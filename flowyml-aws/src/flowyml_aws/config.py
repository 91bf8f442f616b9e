"""Settings of the ``sagemaker`` backend, and the checks ``validate()`` runs on them.

Endpoints are settings like any other: by default botocore finds AWS's own (and honours
``AWS_ENDPOINT_URL_<SERVICE>``); a loopback test server or a VPC endpoint is named here,
so one code path talks to AWS or to anything that speaks its protocol.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from flowyml_docker.config import ImageBuildSettings

__all__ = ["SageMakerConfig", "config_problems", "redacted", "s3_output_uri"]

_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_ROLE_RE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_BUCKET_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")
_SECRET_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")
_KMS_RE = re.compile(r"^[a-zA-Z0-9:/_-]{1,2048}$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-z]+$")
_SECURITY_GROUP_RE = re.compile(r"^sg-[0-9a-z]+$")
_REGISTRY_RE = re.compile(r"^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")
_ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class SageMakerConfig(ImageBuildSettings):
    """Settings of the ``sagemaker`` backend (``stacks.NAME.settings`` in flowyml.yaml).

    Attributes:
        name: the orchestrator's name.
        region: the AWS region of the jobs, the bucket and the registry.
        role_arn: the IAM role the training jobs run as (``RoleArn``).
        s3_bucket: ``s3://bucket[/prefix]`` holding artifacts, tasks, result manifests and
            the jobs' own output; the run's artifact store unless the stack names an
            ``s3://`` one.
        instance_type: the instance of groups whose resources ask for nothing.
        volume_size_gb: the ML storage volume of groups that name no ``disk_gb``.
        max_runtime_seconds: ``MaxRuntimeInSeconds`` of groups without a step timeout.
        subnets: the VPC subnets of the jobs (with ``security_group_ids``).
        security_group_ids: the VPC security groups of the jobs.
        output_kms_key: the KMS key encrypting the jobs' output in S3.
        volume_kms_key: the KMS key encrypting the jobs' ML storage volumes.
        secrets: environment variable -> Secrets Manager secret ARN; the value is
            fetched inside the job, never sent in the request.
        tags: extra tags on every job.
        endpoints: botocore service name (``sagemaker``, ``s3``, ``logs``, ``ecr``,
            ``secretsmanager``) -> endpoint URL, for this process.
        container_endpoints: the same, as the jobs' containers reach them (passed to
            them as ``AWS_ENDPOINT_URL_<SERVICE>``).
        profile: a named profile of the AWS configuration files (default: botocore's
            chain: environment, files, instance role).
        image: a prebuilt image holding flowyml and the project; nothing is built.
        image_registry: where images are pushed (default: the account's ECR,
            ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/flowyml``).
        max_parallel: how many group jobs may run at once.
        poll_initial_seconds: first wait between two DescribeTrainingJob calls.
        poll_max_seconds: the longest wait between two of them (grows by half each time).
        retry_max_attempts: calls per request, the first included, before a transient
            error (throttling, 5xx) is reported (botocore's ``total_max_attempts``).
        retry_mode: botocore's retry mode (``standard`` or ``adaptive``).
        connect_timeout_seconds: botocore's connect timeout.
        read_timeout_seconds: botocore's read timeout.
        stop_timeout_seconds: how long a graceful ``stop_run`` waits for the jobs to stop.
        multipart_threshold_mb: objects from this size are uploaded in parts.
        distributions: the flowyml distributions installed in the image.
    """

    name: str = "sagemaker"
    region: str = "us-east-1"
    role_arn: str | None = None
    s3_bucket: str | None = None
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=86400, ge=1, le=2419200)
    subnets: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    output_kms_key: str | None = None
    volume_kms_key: str | None = None
    secrets: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    endpoints: dict[str, str] = Field(default_factory=dict)
    container_endpoints: dict[str, str] = Field(default_factory=dict)
    profile: str | None = None
    image: str | None = None
    image_registry: str | None = None
    distributions: list[str] = Field(default_factory=lambda: ["flowyml-core", "flowyml-aws"])
    max_parallel: int = Field(default=8, ge=1, le=256)
    poll_initial_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=30.0, gt=0)
    retry_max_attempts: int = Field(default=8, ge=1, le=50)
    retry_mode: str = Field(default="standard", pattern="^(standard|adaptive|legacy)$")
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    read_timeout_seconds: float = Field(default=60.0, gt=0)
    stop_timeout_seconds: float = Field(default=300.0, ge=0)
    multipart_threshold_mb: int = Field(default=64, ge=5)


def s3_output_uri(config: SageMakerConfig) -> str | None:
    """The bucket setting as an ``s3://`` URI without a trailing slash."""
    bucket = config.s3_bucket
    if not bucket:
        return None
    return (bucket if bucket.startswith("s3://") else f"s3://{bucket}").rstrip("/")


def config_problems(config: SageMakerConfig) -> list[str]:
    """Everything wrong with the settings' formats, one sentence each (empty: none).

    Checks the region, role, bucket, VPC, keys, secrets and registry; whether AWS
    accepts them is only known when a job is created.
    """
    problems: list[str] = []
    if not _REGION_RE.match(config.region):
        problems.append(f"region {config.region!r} is not a region such as 'us-east-1'")
    if not config.role_arn:
        problems.append(
            "role_arn is not set: name the IAM role the training jobs run as "
            "('arn:aws:iam::ACCOUNT:role/NAME')"
        )
    elif not _ROLE_RE.match(config.role_arn):
        problems.append(f"role_arn {config.role_arn!r} is not 'arn:aws:iam::ACCOUNT:role/NAME'")
    bucket = s3_output_uri(config)
    if bucket is None:
        problems.append("s3_bucket is not set: name an s3:// bucket for artifacts")
    elif not _BUCKET_RE.match(bucket):
        problems.append(
            f"s3_bucket {config.s3_bucket!r} is not 's3://bucket' or 's3://bucket/prefix'"
        )
    if bool(config.subnets) != bool(config.security_group_ids):
        problems.append("subnets and security_group_ids go together: set both or neither")
    problems += [
        f"subnet {s!r} is not 'subnet-...'" for s in config.subnets if not _SUBNET_RE.match(s)
    ]
    problems += [
        f"security group {g!r} is not 'sg-...'"
        for g in config.security_group_ids
        if not _SECURITY_GROUP_RE.match(g)
    ]
    if len(config.subnets) > 16 or len(config.security_group_ids) > 5:
        problems.append("SageMaker takes at most 16 subnets and 5 security groups")
    for field in ("output_kms_key", "volume_kms_key"):
        key = getattr(config, field)
        if key and not _KMS_RE.match(key):
            problems.append(f"{field} {key!r} is not a KMS key id, alias or ARN")
    for name, arn in config.secrets.items():
        if not _ENV_KEY_RE.match(name):
            problems.append(f"secret {name!r} is not an environment variable name")
        if not _SECRET_ARN_RE.match(arn):
            problems.append(
                f"secret {name!r}: {arn!r} is not a Secrets Manager ARN "
                "('arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME')"
            )
    if config.image_registry and not _REGISTRY_RE.match(config.image_registry):
        problems.append(f"image_registry {config.image_registry!r} is not 'HOST[:PORT]/PATH'")
    if config.poll_max_seconds < config.poll_initial_seconds:
        problems.append("poll_max_seconds is smaller than poll_initial_seconds")
    return problems


def redacted(config: SageMakerConfig) -> dict[str, Any]:
    """The settings as plain data, secret environment values masked (secret ARNs are
    names, not values, and stay)."""
    data = config.model_dump(mode="json")
    docker = data.get("docker")
    if docker and docker.get("secret_env"):
        docker["secret_env"] = {k: "**********" for k in docker["secret_env"]}
    return data
