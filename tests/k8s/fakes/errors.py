"""API errors as the ``Status`` objects the apiserver returns, so clients raise right.

The official client turns any non-2xx answer into ``ApiException(status=code)`` and
``kubectl`` prints ``Status.message``; both rely on ``reason`` and ``code`` matching.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "status_object"]


def status_object(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``meta/v1 Status``; ``Success`` for 2xx codes, ``Failure`` otherwise."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 300 else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


class ApiError(Exception):
    """An error answer: raised anywhere below the HTTP handler, which sends its Status."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status_object(code, reason, message, details)

    @classmethod
    def not_found(cls, resource: str, name: str, group: str = "") -> ApiError:
        """404 for ``resource`` (plural, like ``jobs``) named ``name``."""
        qualified = f"{resource}.{group}" if group else resource
        return cls(
            404,
            "NotFound",
            f'{qualified} "{name}" not found',
            {"name": name, "group": group, "kind": resource},
        )

    @classmethod
    def already_exists(cls, resource: str, name: str, group: str = "") -> ApiError:
        """409 for a create of a name that is taken."""
        qualified = f"{resource}.{group}" if group else resource
        return cls(
            409,
            "AlreadyExists",
            f'{qualified} "{name}" already exists',
            {"name": name, "group": group, "kind": resource},
        )

    @classmethod
    def invalid(
        cls, kind: str, name: str, causes: list[tuple[str, str]], group: str = ""
    ) -> ApiError:
        """422 listing ``(field, message)`` causes, worded like apiserver validation."""
        qualified = f"{kind}.{group}" if group else kind
        text = "; ".join(f"{field}: {message}" for field, message in causes)
        return cls(
            422,
            "Invalid",
            f'{qualified} "{name}" is invalid: {text}',
            {
                "name": name,
                "group": group,
                "kind": kind,
                "causes": [
                    {"reason": "FieldValueInvalid", "message": message, "field": field}
                    for field, message in causes
                ],
            },
        )

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        """400, for malformed bodies, selectors and log requests."""
        return cls(400, "BadRequest", message)

    @classmethod
    def method_not_allowed(cls, message: str) -> ApiError:
        """405, for verbs the fake does not serve on a path it knows."""
        return cls(405, "MethodNotAllowed", message)
