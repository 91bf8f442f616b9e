"""What the fake SageMaker accepts as a ``CreateTrainingJob`` request, and why not.

Two layers, both answered with ``ValidationException``:

1. every constraint of botocore's SageMaker model (:mod:`.service_model`): name pattern
   and length ≤ 63, role ARN pattern, S3 URI pattern, ``Environment`` (≤ 100 entries,
   keys ``[a-zA-Z_][a-zA-Z0-9_]*`` and values ≤ 512 characters), ≤ 100 entrypoint or
   argument items of ≤ 256 characters, tags (≤ 50), ``VpcConfig`` (≤ 5 security groups,
   ≤ 16 subnets), KMS key ids, instance type enum, ...;
2. what a container training job needs that the model leaves optional since serverless
   jobs exist: ``AlgorithmSpecification.TrainingImage``, ``ResourceConfig`` with
   ``InstanceType``, ``InstanceCount`` and ``VolumeSizeInGB``, and
   ``StoppingCondition.MaxRuntimeInSeconds`` (the real service defaults it to one day;
   the fake insists, so a backend that forgets it is caught).

The fake runs one instance: ``InstanceCount`` above 1 and built-in algorithms
(``AlgorithmName``) are refused with a message that says so.
"""

from __future__ import annotations

from typing import Any

from .json_protocol import AwsError, validation_error
from .service_model import check_request, validation_message

__all__ = ["MAX_RUNTIME_LIMIT_SECONDS", "check_create_training_job"]

MAX_RUNTIME_LIMIT_SECONDS = 28 * 24 * 3600  # "The maximum value is 28 days."
_REQUIRED_FOR_CONTAINERS = (
    ("AlgorithmSpecification", "TrainingImage"),
    ("ResourceConfig", "InstanceType"),
    ("ResourceConfig", "InstanceCount"),
    ("ResourceConfig", "VolumeSizeInGB"),
    ("StoppingCondition", "MaxRuntimeInSeconds"),
)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def check_create_training_job(body: dict[str, Any]) -> None:
    """Raise the ``ValidationException`` the request deserves, if any.

    Raises:
        AwsError: ``ValidationException`` naming every broken constraint.
    """
    errors = check_request("CreateTrainingJob", body)
    for outer, inner in _REQUIRED_FOR_CONTAINERS:
        section = body.get(outer)
        if not isinstance(section, dict) or inner not in section:
            where = f"{_camel(outer)}.{_camel(inner)}"
            errors.append(
                f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
            )
    runtime = (body.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    if isinstance(runtime, int) and runtime > MAX_RUNTIME_LIMIT_SECONDS:
        errors.append(
            f"Value '{runtime}' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_RUNTIME_LIMIT_SECONDS}"
        )
    if errors:
        raise validation_error(validation_message(errors))
    _check_fake_limits(body)


def _check_fake_limits(body: dict[str, Any]) -> None:
    if body["ResourceConfig"]["InstanceCount"] != 1:
        raise AwsError(
            "ValidationException",
            "The fake SageMaker runs exactly one instance (algo-1): InstanceCount must be 1.",
        )
    if "AlgorithmName" in body["AlgorithmSpecification"]:
        raise AwsError(
            "ValidationException",
            "The fake SageMaker has no built-in algorithms: give a TrainingImage only.",
        )
