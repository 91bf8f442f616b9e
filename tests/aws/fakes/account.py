"""The pretend AWS account every fake answers for: region, account, dummy keys, role.

Nothing here reaches AWS. The keys only satisfy botocore's request signing; moto and the
fake SageMaker accept any signature.
"""

from __future__ import annotations

__all__ = [
    "ACCESS_KEY_ID",
    "ACCOUNT_ID",
    "CONTAINER_LABEL",
    "ECR_REGISTRY",
    "LOCAL_REGISTRY",
    "REGION",
    "ROLE_ARN",
    "SECRET_ACCESS_KEY",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/flowyml-sagemaker-test"
# Where images really live: ECR references are rewritten to it by the fake SageMaker.
LOCAL_REGISTRY = "127.0.0.1:5000"
ECR_REGISTRY = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"
# Every container the fake SageMaker creates carries this label (value "1"); only
# containers with it are ever removed by the fakes or their fixtures.
CONTAINER_LABEL = "flowyml-aws-fake"
