"""Run parameters injected into steps by parameter name."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from flowyml.errors import PipelineDefinitionError

__all__ = ["Context"]


def check_serialisable(name: str, value: Any, where: str) -> None:
    """Raise a :class:`PipelineDefinitionError` when ``value`` is not JSON-serialisable."""
    try:
        json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise PipelineDefinitionError(
            f"{where}: parameter '{name}' = {value!r} is not JSON-serialisable ({exc}); "
            "parameters travel to remote backends and into cache keys, so use plain data"
        ) from None


class Context(Mapping[str, Any]):
    """Parameters of a run, looked up by step parameter name.

    Example:
        >>> ctx = Context(n=100, lr=0.1)
        >>> ctx.override("train", lr=0.5)   # only `train` sees lr=0.5
    """

    def __init__(self, **params: Any) -> None:
        for key, value in params.items():
            check_serialisable(key, value, "context")
        self._params: dict[str, Any] = dict(params)
        self._overrides: dict[str, dict[str, Any]] = {}

    def override(self, step_name: str, **params: Any) -> Context:
        """Give one step its own values for some parameters; returns ``self``."""
        for key, value in params.items():
            check_serialisable(key, value, f"context override of step '{step_name}'")
        self._overrides.setdefault(step_name, {}).update(params)
        return self

    def updated(self, **params: Any) -> Context:
        """A copy with some parameters replaced (overrides are kept)."""
        merged = Context(**{**self._params, **params})
        merged._overrides = {k: dict(v) for k, v in self._overrides.items()}
        return merged

    @classmethod
    def coerce(cls, context: Context | Mapping[str, Any] | None, base: Context) -> Context:
        """The run context from what a caller passed: a ``Context`` as is, a
        :meth:`to_dict` form, or plain parameters that update ``base``; ``base`` if none."""
        if isinstance(context, Context):  # first: one with only overrides has length 0
            return context
        if not context:
            return base
        if "params" in context and set(context) <= {"params", "overrides"}:
            return cls.from_dict(context)
        return base.updated(**context)

    def for_step(self, step_name: str) -> dict[str, Any]:
        """All parameters as seen by one step (its overrides applied)."""
        overrides = self._overrides.get(step_name)
        return {**self._params, **overrides} if overrides else self._params

    def has(self, key: str, step_name: str | None = None) -> bool:
        """Whether ``key`` is defined for ``step_name`` (or globally)."""
        if step_name is not None and key in self._overrides.get(step_name, {}):
            return True
        return key in self._params

    def to_dict(self) -> dict[str, Any]:
        """The parameters and per-step overrides as plain data."""
        return {"params": dict(self._params), "overrides": self._overrides}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Context:
        """Inverse of :meth:`to_dict`."""
        ctx = cls(**data.get("params", {}))
        for step_name, params in data.get("overrides", {}).items():
            ctx.override(step_name, **params)
        return ctx

    def __getitem__(self, key: str) -> Any:
        return self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        if not self._overrides:
            return f"Context({self._params!r})"
        return f"Context({self._params!r}, overrides={self._overrides!r})"
