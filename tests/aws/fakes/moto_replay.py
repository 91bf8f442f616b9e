"""Replays a request the fake SageMaker received against moto's own SageMaker.

The fake's validation was written here; moto's SageMaker and botocore's client-side
validator were not. Sending the very body a backend sent (taken from the fake's request
log) through a real boto3 client to moto shows the request shape is accepted by
implementations nobody here wrote: botocore checks member names, types, required
members and minimums before sending; moto parses the body and echoes it back from
``DescribeTrainingJob``.

Limits (moto 5.2.x): moto itself does not enforce name patterns, maximum lengths or
unique names, and runs nothing; those are the fake's checks (:mod:`.training_requests`).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

__all__ = ["replay_create_training_job"]


def replay_create_training_job(
    sagemaker_client: Any, body: dict[str, Any], *, rename: bool = True
) -> dict[str, Any]:
    """Send ``body`` as ``CreateTrainingJob`` to moto and return moto's description of it.

    Args:
        sagemaker_client: A boto3 ``sagemaker`` client of the moto server.
        body: A recorded ``CreateTrainingJob`` body (e.g. ``fake.requests.bodies(...)[-1]``).
        rename: Give the replay a fresh ``TrainingJobName`` (suffix ``-r<hex>``, within the
            63-character limit), so replaying one body twice does not collide.

    Returns:
        moto's ``DescribeTrainingJob`` answer for the replayed job.

    Raises:
        botocore.exceptions.ParamValidationError: botocore refused the shape.
        botocore.exceptions.ClientError: moto refused the request.
    """
    request = copy.deepcopy(body)
    if rename:
        suffix = f"-r{uuid.uuid4().hex[:8]}"
        request["TrainingJobName"] = request["TrainingJobName"][: 63 - len(suffix)] + suffix
    sagemaker_client.create_training_job(**request)
    return dict(sagemaker_client.describe_training_job(TrainingJobName=request["TrainingJobName"]))
