"""The Google APIs the backend calls: clients built from configuration, retries, errors.

Every client talks to the endpoint its setting names; with ``insecure`` the gRPC clients
get a plain-text channel and no credentials (loopback test servers), otherwise a TLS
channel with the configured or default credentials. ``google.cloud.aiplatform_v1`` and
the logging client are imported here, inside functions, never when ``flowyml_gcp`` is
imported: they take about a second to load.

Transient errors (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED) are retried with
exponential back-off until a deadline; refusals (PERMISSION_DENIED, NOT_FOUND,
INVALID_ARGUMENT...) become a :class:`~flowyml.errors.BackendError` that names the
project, region, job and service account involved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flowyml.backend import BackendError
from flowyml_gcp.config import VertexAIConfig

__all__ = ["ApiCounter", "GoogleApis", "is_transient", "translate_error"]

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether an API error is worth retrying (the server was busy or unreachable)."""
    from google.api_core import exceptions

    return isinstance(
        exc,
        exceptions.ServiceUnavailable | exceptions.ResourceExhausted | exceptions.DeadlineExceeded,
    )


def translate_error(exc: BaseException, config: VertexAIConfig, action: str) -> BackendError:
    """A ``BackendError`` saying what was refused, for whom, and what to check.

    Args:
        exc: the ``google.api_core`` exception.
        config: the settings (project, region, service account).
        action: what was attempted, naming the job or bucket, e.g. "create job X".
    """
    from google.api_core import exceptions

    where = f"project '{config.project_id}', region '{config.region}'"
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, exceptions.PermissionDenied | exceptions.Unauthenticated):
        who = (
            f"service account '{config.service_account}'"
            if config.service_account
            else "the default service account"
        )
        hint = (
            f"check that the caller's credentials may {action} in {where} "
            "(role roles/aiplatform.user), and that they may act as "
            f"{who} (roles/iam.serviceAccountUser)"
        )
        return BackendError(
            f"Vertex AI refused to {action} ({where}): permission denied: {message}; {hint}"
        )
    if isinstance(exc, exceptions.NotFound):
        return BackendError(
            f"Vertex AI could not {action} ({where}): not found: {message}; check the "
            "project id, the region and the job name"
        )
    if isinstance(exc, exceptions.InvalidArgument | exceptions.FailedPrecondition):
        return BackendError(
            f"Vertex AI rejected the request to {action} ({where}): {message}; check the "
            "machine type, accelerator, network, encryption key and service account settings"
        )
    if is_transient(exc):
        return BackendError(
            f"Vertex AI did not answer the request to {action} ({where}) within "
            f"{config.retry_deadline_seconds:g} s of retries: {message}"
        )
    return BackendError(f"Vertex AI failed to {action} ({where}): {type(exc).__name__}: {message}")


class ApiCounter:
    """Counts API calls by method (the benchmark reads it)."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, method: str) -> None:
        """Count one call of ``method``."""
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def total(self) -> int:
        """All calls so far."""
        with self._lock:
            return sum(self.calls.values())


class GoogleApis:
    """The JobService, Cloud Logging and Cloud Storage clients of one configuration.

    Clients are built on first use and shared by threads (gRPC channels are thread-safe).
    """

    def __init__(self, config: VertexAIConfig) -> None:
        self.config = config
        self.counter = ApiCounter()
        self._lock = threading.Lock()
        self._jobs: Any = None
        self._logging: Any = None
        self._credentials: Any = None

    # -- credentials ------------------------------------------------------------------------
    def credentials(self) -> Any:
        """The credentials of the configured key file, or the application defaults.

        Raises:
            BackendError: none can be found.
        """
        if self._credentials is not None:
            return self._credentials
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        scopes = ["https://www.googleapis.com/auth/cloud-platform"]
        try:
            if self.config.credentials_file:
                from google.oauth2 import service_account

                creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    self.config.credentials_file, scopes=scopes
                )
            else:
                creds, _project = google.auth.default(scopes=scopes)
        except (DefaultCredentialsError, OSError, ValueError) as exc:
            raise BackendError(
                f"no Google Cloud credentials for project '{self.config.project_id}': {exc}. "
                "Run `gcloud auth application-default login`, set "
                "GOOGLE_APPLICATION_CREDENTIALS, or set the credentials_file setting"
            ) from None
        self._credentials = creds
        return creds

    def _channel(self, address: str, transport_cls: Any) -> Any:
        if self.config.insecure:
            import grpc

            return transport_cls(channel=grpc.insecure_channel(address))
        return transport_cls(host=address, credentials=self.credentials())

    # -- clients --------------------------------------------------------------------------
    def jobs(self) -> Any:
        """The ``aiplatform_v1`` ``JobServiceClient``."""
        with self._lock:
            if self._jobs is None:
                from google.cloud.aiplatform_v1.services.job_service import JobServiceClient
                from google.cloud.aiplatform_v1.services.job_service.transports.grpc import (
                    JobServiceGrpcTransport,
                )

                transport = self._channel(self.config.vertex_address, JobServiceGrpcTransport)
                self._jobs = JobServiceClient(transport=transport)
            return self._jobs

    def logging(self) -> Any:
        """The low-level Cloud Logging ``LoggingServiceV2Client``."""
        with self._lock:
            if self._logging is None:
                from google.cloud.logging_v2.services.logging_service_v2 import (
                    LoggingServiceV2Client,
                )
                from google.cloud.logging_v2.services.logging_service_v2.transports import (
                    LoggingServiceV2GrpcTransport,
                )

                transport = self._channel(
                    self.config.logging_address, LoggingServiceV2GrpcTransport
                )
                self._logging = LoggingServiceV2Client(transport=transport)
            return self._logging

    # -- calling ------------------------------------------------------------------------------
    def retry(self, on_error: Callable[[BaseException], None] | None = None) -> Any:
        """The retry policy of every call: transient errors, exponential back-off, deadline."""
        from google.api_core.retry import Retry

        return Retry(
            predicate=is_transient,
            initial=self.config.retry_initial_seconds,
            maximum=max(self.config.retry_initial_seconds, 30.0),
            multiplier=2.0,
            timeout=self.config.retry_deadline_seconds,
            on_error=on_error,
        )

    def call(self, method: str, fn: Callable[..., T], action: str, **kwargs: Any) -> T:
        """Call an API method with the retry policy; refusals become ``BackendError``.

        Args:
            method: the method's name, for the call counter (retries count too).
            fn: the bound client method.
            action: what is attempted, for error messages ("create job X").
            **kwargs: the method's arguments.

        Raises:
            BackendError: the call was refused, or transient errors outlasted the deadline.
        """
        from google.api_core import exceptions

        self.counter.add(method)
        try:
            return fn(retry=self.retry(lambda _exc: self.counter.add(method)), **kwargs)
        except exceptions.RetryError as exc:
            raise translate_error(exc.cause or exc, self.config, action) from exc
        except exceptions.GoogleAPIError as exc:
            raise translate_error(exc, self.config, action) from exc
