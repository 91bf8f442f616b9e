"""The AWS clients the backend uses: built from configuration, retried, their errors named.

Every client comes from one boto3 session (region and profile from the settings, else
botocore's chain) with botocore's retry configuration: transient errors — throttling,
5xx, connection errors — are retried with exponential back-off and jitter up to
``retry_max_attempts`` calls, each bounded by the connect and read timeouts; that bounds
how long a call may take in all. Endpoints come from ``endpoints`` (else botocore's own
resolution, which honours ``AWS_ENDPOINT_URL_<SERVICE>``).

Refusals become a :class:`~flowyml.errors.BackendError` that names the resource and what
to check: access denied (the caller's IAM policy), a role SageMaker cannot assume, a
missing bucket, a request SageMaker's validation refused.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from flowyml.backend import BackendError
from flowyml_aws.config import SageMakerConfig

__all__ = ["AwsClients", "endpoint_variable", "error_code", "translate_error"]

_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)


def endpoint_variable(service: str) -> str:
    """botocore's variable for a service's endpoint: ``secretsmanager`` ->
    ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (from the service id, as botocore derives it)."""
    import botocore.session

    service_id = botocore.session.get_session().get_service_model(service).service_id
    return "AWS_ENDPOINT_URL_" + str(service_id).replace(" ", "_").upper()


def error_code(exc: BaseException | None) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``None`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def translate_error(exc: BaseException, config: SageMakerConfig, action: str) -> BackendError:
    """A ``BackendError`` saying what was refused, on which resource, and what to check.

    Args:
        exc: the botocore exception.
        config: the settings (region, role).
        action: what was attempted, naming the job or bucket, e.g. "create training job X".
    """
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", "") if code else ""
    message = message or str(exc)
    where = f"region '{config.region}'"
    if code in _DENIED:
        hint = (
            f"check that the caller's IAM identity may {action} in {where} (its policy, and "
            "any permission boundary or SCP)"
        )
        if config.role_arn and "CreateTrainingJob" in message:
            hint += f", and may pass role '{config.role_arn}' (iam:PassRole)"
        return BackendError(f"AWS denied access to {action} ({code}): {message}; {hint}")
    if "assume role" in message.lower() or "NoSuchEntity" in (code or ""):
        return BackendError(
            f"SageMaker cannot use role '{config.role_arn}' to {action}: {message}; check that "
            "the role exists and trusts sagemaker.amazonaws.com"
        )
    if code == "NoSuchBucket" or (code == "404" and "bucket" in action):
        return BackendError(f"cannot {action}: the bucket does not exist ({message}); create it")
    if code in _THROTTLED:
        return BackendError(
            f"AWS kept throttling the request to {action} ({code}) after "
            f"{config.retry_max_attempts} attempts; raise retry_max_attempts or lower "
            "max_parallel"
        )
    if code == "ValidationException":
        return BackendError(f"SageMaker refused to {action}: {message}")
    if code == "ResourceLimitExceeded":
        return BackendError(
            f"cannot {action}: an account quota is reached in {where} ({message}); ask for a "
            "higher limit or lower max_parallel"
        )
    if code:
        return BackendError(f"AWS refused to {action} ({code}): {message}")
    return BackendError(f"cannot {action}: {type(exc).__name__}: {message}")


class AwsClients:
    """boto3 clients of one configuration, made on first use, thread-safe, counted.

    Attributes:
        config: the settings.
        calls: HTTP requests sent, by operation name (retries included).
    """

    def __init__(self, config: SageMakerConfig) -> None:
        self.config = config
        self.calls: Counter[str] = Counter()
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()

    def botocore_config(self) -> Any:
        """botocore's ``Config``: retries, timeouts and the pool size of these clients."""
        from botocore.config import Config

        return Config(
            region_name=self.config.region,
            retries={
                "mode": self.config.retry_mode,
                "total_max_attempts": self.config.retry_max_attempts,
            },
            connect_timeout=self.config.connect_timeout_seconds,
            read_timeout=self.config.read_timeout_seconds,
            max_pool_connections=max(10, self.config.max_parallel * 2),
        )

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` (``sagemaker``, ``s3``, ``logs``, ``ecr``...)."""
        with self._lock:
            found = self._clients.get(service)
            if found is None:
                if self._session is None:
                    import boto3

                    self._session = boto3.session.Session(
                        profile_name=self.config.profile, region_name=self.config.region
                    )
                found = self._session.client(
                    service,
                    endpoint_url=self.config.endpoints.get(service),
                    config=self.botocore_config(),
                )
                found.meta.events.register("before-send", self._count)
                self._clients[service] = found
            return found

    def _count(self, request: Any = None, **kwargs: Any) -> None:
        name = kwargs.get("event_name", "").split(".")[-1]
        with self._lock:
            self.calls[name] += 1

    def total(self) -> int:
        """Every request sent so far."""
        with self._lock:
            return sum(self.calls.values())

    def call(self, service: str, operation: str, action: str, **kwargs: Any) -> dict[str, Any]:
        """Call ``operation`` (boto3's snake_case name) of ``service``.

        Args:
            service: the botocore service name.
            operation: the client method, e.g. ``"create_training_job"``.
            action: what is attempted, naming the resource (for errors).
            kwargs: the request.

        Raises:
            BackendError: AWS refused, or still failed once retries ran out.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer: dict[str, Any] = getattr(self.client(service), operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, self.config, action) from exc
        return answer
