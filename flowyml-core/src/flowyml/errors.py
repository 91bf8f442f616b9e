"""The exception hierarchy of FlowyML Orchestrators.

Every error the framework raises on purpose derives from :class:`FlowyMLError`, so a
caller can catch one base class. Each message names the thing to fix: the step, the
field, the file or the plugin.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "BackendError",
    "CacheError",
    "ConfigError",
    "FlowyMLError",
    "MaterializationError",
    "PipelineDefinitionError",
    "PluginError",
    "RunNotFoundError",
    "StepExecutionError",
    "StepTimeoutError",
]


class FlowyMLError(Exception):
    """Base class of every error raised by FlowyML Orchestrators."""


class PipelineDefinitionError(FlowyMLError):
    """The pipeline cannot run as defined (cycle, missing producer, bad parameter...)."""


class ConfigError(FlowyMLError):
    """A configuration file, environment variable or backend setting is invalid."""


class PluginError(FlowyMLError):
    """A plugin failed to load, broke a contract, or a backend name is unknown."""


class BackendError(FlowyMLError):
    """A backend could not do what was asked (engine unreachable, API refused...)."""


class StepExecutionError(FlowyMLError):
    """A step failed; raised inside executors, reported through ``ExecutionResult``."""


class StepTimeoutError(StepExecutionError):
    """A step ran longer than its ``timeout``."""


class ArtifactError(FlowyMLError):
    """An artifact could not be written to or read from the artifact store."""


class MaterializationError(ArtifactError):
    """A step output cannot be serialised by any registered materializer."""


class CacheError(FlowyMLError):
    """The cache index is unusable."""


class RunNotFoundError(FlowyMLError):
    """No run with the given id exists in the run store."""
