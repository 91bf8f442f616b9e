"""The exception hierarchy of FlowyML Orchestrators.

Every error the framework raises on purpose derives from :class:`FlowyMLError`, so a
caller can catch one base class. Each message names the thing to fix: the step, the
field, the file or the plugin.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArtifactError",
    "ArtifactLoadError",
    "BackendError",
    "CacheError",
    "ConfigError",
    "FlowyMLError",
    "MaterializationError",
    "PipelineDefinitionError",
    "PluginError",
    "RunInterrupted",
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


class ArtifactLoadError(ArtifactError):
    """A stored artifact cannot be read back into a value.

    The message names the artifact (and the step that wrote it, when recorded), where it
    is stored, why it cannot be read and what to do.

    Attributes:
        reason: why it cannot be read, and what to do.
        what: what the artifact is, e.g. "output 'model' of step 'train'", when known.
        uri: where it is stored, when known.
    """

    def __init__(self, reason: str, *, what: str | None = None, uri: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.what = what
        self.uri = uri

    def __str__(self) -> str:
        where = f" ({self.uri})" if self.uri else ""
        return f"cannot load {self.what or 'artifact'}{where}: {self.reason}"


class MaterializationError(ArtifactError):
    """A step output cannot be serialised by any registered materializer."""


class CacheError(FlowyMLError):
    """The cache index is unusable."""


class RunNotFoundError(FlowyMLError):
    """No run with the given id exists in the run store."""


class RunInterrupted(KeyboardInterrupt):
    """The process that owns a run received SIGINT (Ctrl-C), SIGTERM or SIGHUP.

    A ``KeyboardInterrupt`` so that code catching ``Exception`` lets it through. Raised
    after the run was stopped and recorded as cancelled; ``run`` holds what happened
    (a :class:`~flowyml.storage.pipeline_run.PipelineRun`) once the orchestrator attached it.

    Attributes:
        signum: the signal's number.
        run: the cancelled run, or ``None``.
    """

    def __init__(self, signum: int, run: Any = None) -> None:
        import signal

        self.signum = signum
        self.run = run
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """The conventional exit code of a process ended by this signal (128 + number)."""
        return 128 + self.signum
