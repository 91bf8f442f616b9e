"""What a process that forks step runners does: preload them, and flush before ``_exit``."""

from __future__ import annotations

import importlib

from flowyml.plugins.manager import get_plugin_manager
from flowyml.storage.database import _flush_all

__all__ = ["flush_run_records", "preload_step_runner"]

# What a process imports before it forks step runners (see preload_step_runner).
_STEP_RUNNER_MODULES = (
    "flowyml.execution.step_runner",
    "flowyml.execution.run_step",
    "flowyml.plugins.manager",
)


def preload_step_runner() -> None:
    """Import the step runner, load every installed plugin and ask them for what a step
    runner looks up (artifact stores, materializers) now.

    A launcher that forks step runners from a template process (``subprocess``'s fork
    server) calls this once in the template, so each forked step starts without paying
    for those imports. Backends are left alone: a step runner uses none.
    """
    for module in _STEP_RUNNER_MODULES:
        importlib.import_module(module)
    manager = get_plugin_manager()
    manager.artifact_store_classes()
    manager.materializers()


def flush_run_records() -> None:
    """Commit every run-store and cache write this process still has queued.

    Writes are committed in batches by a background thread and at interpreter exit. A
    process that ends with ``os._exit`` (a forked step runner) skips both, so it calls this
    first; otherwise the records of its steps would be lost.
    """
    _flush_all()
