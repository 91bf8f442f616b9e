"""Every request the fake served, for tests that assert what a client did (or did not do).

A backend's ``--plan`` must make no ``create`` call; a benchmark counts API calls per
resource. Each :class:`ApiRequest` names the Kubernetes verb (``create``, ``get``,
``list``, ``watch``, ``delete``, ``deletecollection``, ``patch``, ``update``, ``log``,
``discovery``) and resource, so assertions need not parse paths. Secret values in bodies
are replaced by ``"<redacted>"`` before they are kept.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiRequest", "RequestLog", "redact"]


def redact(body: Any) -> Any:
    """A copy of a request body with Secret ``data``/``stringData`` values hidden."""
    if not isinstance(body, dict) or body.get("kind") not in (None, "Secret"):
        return body
    hidden = dict(body)
    for key in ("data", "stringData"):
        if isinstance(hidden.get(key), dict):
            hidden[key] = dict.fromkeys(hidden[key], "<redacted>")
    return hidden


@dataclass(frozen=True)
class ApiRequest:
    """One request: HTTP method and path, query, body (redacted), answer code, meaning."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    verb: str
    resource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class RequestLog:
    """Thread-safe list of :class:`ApiRequest`, with counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[ApiRequest] = []

    def add(self, request: ApiRequest) -> None:
        """Record a served request."""
        with self._lock:
            self._requests.append(request)

    def requests(
        self, verb: str | None = None, resource: str | None = None, method: str | None = None
    ) -> list[ApiRequest]:
        """Requests so far, oldest first, filtered by verb, resource and HTTP method."""
        with self._lock:
            return [
                r
                for r in self._requests
                if (verb is None or r.verb == verb)
                and (resource is None or r.resource == resource)
                and (method is None or r.method == method)
            ]

    def count(self, verb: str | None = None, resource: str | None = None) -> int:
        """How many requests had this verb and resource (None: any)."""
        return len(self.requests(verb, resource))

    def by_path(self) -> Counter[str]:
        """Requests per ``"METHOD /path"``."""
        with self._lock:
            return Counter(f"{r.method} {r.path}" for r in self._requests)

    def by_verb(self) -> Counter[str]:
        """Requests per ``"verb resource"`` (``"create jobs"``, ``"get pods/log"``)."""
        with self._lock:
            return Counter(
                f"{r.verb} {r.resource}{'/' + r.subresource if r.subresource else ''}".strip()
                for r in self._requests
            )

    def by_group(self) -> Counter[str]:
        """Requests per API group (``"batch"``, ``"core"``, ``""`` for discovery)."""
        with self._lock:
            return Counter((r.group or "core") if r.resource else "" for r in self._requests)

    def clear(self) -> None:
        """Forget every request (between tests)."""
        with self._lock:
            self._requests.clear()
