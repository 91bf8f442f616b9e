"""Loopback test servers for the Google Cloud clients: Vertex AI, Cloud Logging, GCS.

``FakeVertex`` runs CustomJobs as Docker containers and puts their output in a
``LogStore``; ``FakeLogging`` serves that store; ``GcsEmulator`` wraps the in-process
``gcp-storage-emulator``. All listen on 127.0.0.1 only. ``google.cloud.aiplatform_v1`` is
imported by ``fakes.vertex`` on first use, not here (it costs about 0.75 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .faults import Faults, Scope
from .filter_syntax import FilterError
from .gcs import GcsEmulator, free_port
from .log_store import LogRecord, LogStore

if TYPE_CHECKING:
    from .job_runner import RunnerSettings
    from .logging import FakeLogging
    from .vertex import FakeVertex

__all__ = [
    "FakeLogging",
    "FakeVertex",
    "Faults",
    "FilterError",
    "GcsEmulator",
    "LogRecord",
    "LogStore",
    "RunnerSettings",
    "Scope",
    "free_port",
]

_LAZY = {"FakeVertex": "vertex", "FakeLogging": "logging", "RunnerSettings": "job_runner"}


def __getattr__(name: str) -> Any:
    """Import the heavy Google client modules only when their fake is asked for."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
