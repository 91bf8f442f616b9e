"""Loopback AWS for the tests of a SageMaker backend, driven with the real ``boto3``.

``MotoServer`` serves S3, CloudWatch Logs and ECR (moto, in process); ``FakeSageMaker``
serves the training-job API and runs each job's container on the local Docker engine,
shipping its output to moto's CloudWatch Logs. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

from .account import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    CONTAINER_LABEL,
    ECR_REGISTRY,
    LOCAL_REGISTRY,
    REGION,
    ROLE_ARN,
    SECRET_ACCESS_KEY,
)
from .cloudwatch_logs import LOG_GROUP
from .faults import Faults
from .job_runner import RunnerSettings
from .json_protocol import AwsError
from .moto_replay import replay_create_training_job
from .moto_server import MotoServer, aws_environment, boto3_client, session
from .request_log import RequestLog, RequestRecord
from .sagemaker import FakeSageMaker

__all__ = [
    "ACCESS_KEY_ID",
    "ACCOUNT_ID",
    "CONTAINER_LABEL",
    "ECR_REGISTRY",
    "LOCAL_REGISTRY",
    "LOG_GROUP",
    "REGION",
    "ROLE_ARN",
    "SECRET_ACCESS_KEY",
    "AwsError",
    "FakeSageMaker",
    "Faults",
    "MotoServer",
    "RequestLog",
    "RequestRecord",
    "RunnerSettings",
    "aws_environment",
    "boto3_client",
    "replay_create_training_job",
    "session",
]
