"""Fault injection and call counting shared by the fake gRPC services.

A test arms a fault on a running fake (``fail_next``, ``deny``) and the next matching
call is answered with that status code instead of being served. Every call received is
counted, failed ones included, so a test can assert how many attempts (retries, polls)
a client made.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import grpc

__all__ = ["Faults", "Scope"]


@dataclass(frozen=True)
class Scope:
    """What a call touches, as far as fault rules care.

    Attributes:
        project: The project named by the request's resource (``projects/P/...``).
        service_account: The service account a job runs as, when the call concerns a job.
    """

    project: str | None = None
    service_account: str | None = None


@dataclass
class _PlannedFailure:
    code: grpc.StatusCode
    remaining: int
    message: str


@dataclass(frozen=True)
class _Denial:
    code: grpc.StatusCode
    project: str | None
    service_account: str | None
    message: str

    def matches(self, scope: Scope) -> bool:
        if self.project is not None and scope.project != self.project:
            return False
        return self.service_account is None or scope.service_account == self.service_account


class Faults:
    """Thread-safe fault rules and per-method call counters of one fake service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._planned: dict[str, list[_PlannedFailure]] = {}
        self._denials: list[_Denial] = []

    def fail_next(
        self, method: str, code: grpc.StatusCode, n: int = 1, message: str | None = None
    ) -> None:
        """Answer the next ``n`` calls of ``method`` (e.g. ``"CreateCustomJob"``) with ``code``.

        Failures armed for one method are consumed in the order they were armed.

        Raises:
            ValueError: If ``n`` is not positive or ``code`` is OK.
        """
        if n < 1 or code is grpc.StatusCode.OK:
            raise ValueError("fail_next needs n >= 1 and a non-OK status code")
        text = message or f"injected {code.name} for {method}"
        with self._lock:
            self._planned.setdefault(method, []).append(_PlannedFailure(code, n, text))

    def deny(
        self,
        code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED,
        *,
        project: str | None = None,
        service_account: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer every call matching the project and/or service account with ``code``.

        With neither ``project`` nor ``service_account`` every call is denied. The rule
        stays until :meth:`reset`.
        """
        who = " ".join(
            part
            for part in (
                f"project {project}" if project else "",
                f"service account {service_account}" if service_account else "",
            )
            if part
        )
        text = message or f"Permission denied on {who or 'every resource'} (injected)"
        with self._lock:
            self._denials.append(_Denial(code, project, service_account, text))

    def check(self, method: str, scope: Scope) -> tuple[grpc.StatusCode, str] | None:
        """Count a call of ``method`` and return the fault to answer it with, if any."""
        with self._lock:
            self._calls[method] += 1
            for denial in self._denials:
                if denial.matches(scope):
                    return denial.code, denial.message
            queue = self._planned.get(method)
            if not queue:
                return None
            planned = queue[0]
            planned.remaining -= 1
            if planned.remaining == 0:
                queue.pop(0)
            return planned.code, planned.message

    def call_count(self, method: str) -> int:
        """How many calls of ``method`` arrived since the last :meth:`reset`."""
        with self._lock:
            return self._calls[method]

    def call_counts(self) -> dict[str, int]:
        """A snapshot of every method's call count."""
        with self._lock:
            return dict(self._calls)

    def reset(self) -> None:
        """Forget armed failures, denials and call counts."""
        with self._lock:
            self._calls.clear()
            self._planned.clear()
            self._denials.clear()
