"""Keeping ``DockerConfig.secret_env`` values out of everything FlowyML writes or returns.

Secret values are passed to containers as environment variables and nowhere else; any
text that leaves a container (log lines, errors, tracebacks) goes through
:class:`Redactor` before it is stored, returned or streamed.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowyml.backend import ExecutionResult

__all__ = ["MASK", "Redactor"]

MASK = "**********"


class Redactor:
    """Replaces secret values in text with :data:`MASK`.

    Args:
        secrets: the values to hide; empty strings are ignored.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, value: str) -> str:
        """``value`` with every secret masked."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def result(self, result: ExecutionResult) -> ExecutionResult:
        """A copy of ``result`` whose error, traceback and logs hold no secret."""
        if not self.secrets:
            return result
        update = {
            name: self.text(value)
            for name in ("error", "traceback", "logs")
            if isinstance(value := getattr(result, name), str)
        }
        return result.model_copy(update=update)
