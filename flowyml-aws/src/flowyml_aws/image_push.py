"""Where the run's image goes, and the credentials to push it there.

The default registry is the account's ECR (``ACCOUNT.dkr.ecr.REGION.amazonaws.com/
flowyml``, the account read with ``sts:GetCallerIdentity``); any ``image_registry`` can be
named. An ECR registry is pushed to with the token of ``ecr:GetAuthorizationToken``;
others with the engine's own credentials.
"""

from __future__ import annotations

import base64
import re

from flowyml_aws.clients import AwsClients

__all__ = ["ecr_auth", "image_repository", "is_ecr"]

_ECR_RE = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(/|$)")


def is_ecr(repository: str) -> bool:
    """Whether ``repository`` is in an ECR registry."""
    return bool(_ECR_RE.match(repository))


def image_repository(clients: AwsClients) -> str:
    """The configured registry, else the account's ECR ``flowyml`` repository."""
    config = clients.config
    if config.image_registry:
        return config.image_registry.rstrip("/")
    identity = clients.call("sts", "get_caller_identity", "read the caller's AWS account")
    return f"{identity['Account']}.dkr.ecr.{config.region}.amazonaws.com/flowyml"


def ecr_auth(clients: AwsClients) -> dict[str, str]:
    """Docker credentials for the account's ECR, from ``GetAuthorizationToken``."""
    answer = clients.call("ecr", "get_authorization_token", "get an ECR authorization token")
    data = answer["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return {"username": user, "password": password, "serveraddress": data["proxyEndpoint"]}
