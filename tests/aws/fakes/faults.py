"""Fault injection for the fake SageMaker: the errors a backend must survive or report.

A test arms a fault on the running fake and the next matching call gets that error
instead of being served:

* ``fail_next("DescribeTrainingJob", "ThrottlingException", n=2)``: botocore's standard
  and adaptive retry modes retry it (HTTP 400, code in its throttling list);
* ``fail_next(op, "InternalFailure")``: HTTP 500, retried as a transient error;
* ``deny(operation=..., role_arn=...)``: ``AccessDeniedException`` until :meth:`reset`;
* ``missing_role(arn)``: ``CreateTrainingJob`` with that role fails as it does when
  SageMaker cannot assume it (``ValidationException``, "Could not assume role ...").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .account import ACCOUNT_ID, REGION
from .json_protocol import AwsError

__all__ = ["DEFAULT_STATUS", "Faults"]

# HTTP statuses the real JSON services use for these codes.
DEFAULT_STATUS = {
    "ThrottlingException": 400,
    "ThrottledException": 400,
    "AccessDeniedException": 400,
    "ValidationException": 400,
    "ResourceLimitExceeded": 400,
    "InternalFailure": 500,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
}
_CALLER = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/flowyml-ci/session"


@dataclass
class _Planned:
    error: AwsError
    remaining: int


@dataclass(frozen=True)
class _Denial:
    operation: str | None
    role_arn: str | None
    message: str | None

    def matches(self, operation: str, body: dict[str, Any]) -> bool:
        if self.operation is not None and operation != self.operation:
            return False
        return self.role_arn is None or body.get("RoleArn") == self.role_arn


class Faults:
    """Thread-safe fault rules of one fake service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._planned: dict[str, list[_Planned]] = {}
        self._denials: list[_Denial] = []
        self._missing_roles: set[str] = set()

    def fail_next(
        self,
        operation: str,
        code: str = "ThrottlingException",
        n: int = 1,
        *,
        status: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``n`` calls of ``operation`` with error ``code``.

        Args:
            operation: e.g. ``CreateTrainingJob``.
            code: The error code; its HTTP status comes from :data:`DEFAULT_STATUS`
                (400 for codes not listed) unless ``status`` is given.
            n: How many calls in a row fail.

        Raises:
            ValueError: If ``n`` is not positive.
        """
        if n < 1:
            raise ValueError("fail_next needs n >= 1")
        text = message or (
            "Rate exceeded" if "Thrott" in code else f"injected {code} for {operation}"
        )
        error = AwsError(code, text, status or DEFAULT_STATUS.get(code, 400))
        with self._lock:
            self._planned.setdefault(operation, []).append(_Planned(error, n))

    def deny(
        self,
        *,
        operation: str | None = None,
        role_arn: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer matching calls with ``AccessDeniedException`` until :meth:`reset`.

        With neither ``operation`` nor ``role_arn`` every call is denied.
        """
        with self._lock:
            self._denials.append(_Denial(operation, role_arn, message))

    def missing_role(self, role_arn: str) -> None:
        """Make ``CreateTrainingJob`` fail as if ``role_arn`` did not exist."""
        with self._lock:
            self._missing_roles.add(role_arn)

    def check(self, operation: str, body: dict[str, Any]) -> AwsError | None:
        """The armed fault that answers this call, if any (consumes ``fail_next`` ones)."""
        with self._lock:
            for denial in self._denials:
                if denial.matches(operation, body):
                    return AwsError("AccessDeniedException", denial.message or _denied(operation))
            queue = self._planned.get(operation)
            if not queue:
                return None
            planned = queue[0]
            planned.remaining -= 1
            if planned.remaining == 0:
                queue.pop(0)
            return planned.error

    def check_role(self, role_arn: str) -> AwsError | None:
        """The error of a ``CreateTrainingJob`` whose role is armed as missing."""
        with self._lock:
            if role_arn not in self._missing_roles:
                return None
        return AwsError(
            "ValidationException",
            f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
            "principal 'sagemaker.amazonaws.com' to assume the role.",
        )

    def reset(self) -> None:
        """Forget every armed fault."""
        with self._lock:
            self._planned.clear()
            self._denials.clear()
            self._missing_roles.clear()


def _denied(operation: str) -> str:
    return (
        f"User: {_CALLER} is not authorized to perform: sagemaker:{operation} on resource: "
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:training-job/* because no identity-based "
        f"policy allows the sagemaker:{operation} action"
    )
