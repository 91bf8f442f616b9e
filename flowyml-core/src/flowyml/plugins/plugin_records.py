"""What the plugin manager reports about plugins: their backends, where they come from,
and one plugin's implementation of one hook; and how a plugin names a backend lazily."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BackendInfo", "BackendReference", "HookImplementation", "PluginSource"]


@dataclass(frozen=True)
class BackendReference:
    """A backend a plugin registers without importing it.

    ``flowyml_register_backends`` may return these instead of classes: the class is
    imported when the backend is first used (or listed), so a plugin's backends cost a
    command nothing until then.

    Attributes:
        name: the backend's name; its class's ``name`` must be the same.
        target: where the class is, ``"module:Class"``.
    """

    name: str
    target: str


@dataclass
class BackendInfo:
    """A registered backend and where it came from.

    Attributes:
        name: the backend name users select.
        cls: the backend class.
        kind: ``"executor"`` or ``"orchestrator"`` (a ``RemoteOrchestrator``).
        plugin: the entry-point name (or registration name) of the plugin.
        distribution: the distribution that provides it.
        version: that distribution's version.
    """

    name: str
    cls: type[Any]
    kind: str
    plugin: str
    distribution: str
    version: str

    @property
    def config_fields(self) -> dict[str, str]:
        """Setting name -> type annotation, from the backend's config model."""
        model = getattr(self.cls, "config_model", None)
        if model is None:
            return {}
        fields = model.model_fields
        return {key: _type_name(info.annotation) for key, info in fields.items()}


def _type_name(annotation: Any) -> str:
    name = getattr(annotation, "__name__", None)
    return name if name and not getattr(annotation, "__args__", None) else repr(annotation)


@dataclass
class PluginSource:
    """A registered plugin: its name, distribution and version."""

    name: str
    distribution: str
    version: str


@dataclass(frozen=True)
class HookImplementation:
    """One plugin's implementation of one hook, to be called on its own.

    Attributes:
        plugin: the entry-point name (or registration name) of the plugin.
        distribution: the distribution that provides it.
        function: the implementation.
        argnames: the hook parameters it takes, in its own order.
    """

    plugin: str
    distribution: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]

    def call(self, kwargs: Mapping[str, Any]) -> Any:
        """Call it with the hook's arguments, passing only those it names (as pluggy does)."""
        return self.function(*[kwargs[name] for name in self.argnames])

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' from distribution '{self.distribution}'"
