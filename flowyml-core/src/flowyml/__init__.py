"""FlowyML Orchestrators: write a pipeline once, run it anywhere by backend name.

Public names are imported lazily so that ``import flowyml`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ArtifactError": "flowyml.errors",
    "ArtifactLoadError": "flowyml.errors",
    "ArtifactRef": "flowyml.artifact_store",
    "ArtifactStore": "flowyml.artifact_store",
    "BackendError": "flowyml.errors",
    "CacheError": "flowyml.errors",
    "ConfigError": "flowyml.errors",
    "Context": "flowyml.context",
    "DAG": "flowyml.dag",
    "DockerConfig": "flowyml.resources",
    "ExecutionResult": "flowyml.results",
    "ExecutionStatus": "flowyml.status",
    "Executor": "flowyml.executor",
    "ExecutorConfig": "flowyml.executor",
    "FlowyMLError": "flowyml.errors",
    "LocalArtifactStore": "flowyml.artifact_store",
    "MaterializationError": "flowyml.errors",
    "Materializer": "flowyml.materializers",
    "Orchestrator": "flowyml.orchestrator",
    "Pipeline": "flowyml.pipeline",
    "PipelineDefinitionError": "flowyml.errors",
    "PipelineRun": "flowyml.pipeline_run",
    "PluginError": "flowyml.errors",
    "RemoteOrchestrator": "flowyml.remote_orchestrator",
    "RemoteOrchestratorConfig": "flowyml.remote_orchestrator",
    "ResourceConfig": "flowyml.resources",
    "RetryPolicy": "flowyml.retry",
    "RunInterrupted": "flowyml.errors",
    "RunListener": "flowyml.run_listener",
    "RunNotFoundError": "flowyml.errors",
    "Step": "flowyml.steps",
    "StepExecutionError": "flowyml.errors",
    "StepGroup": "flowyml.grouping",
    "StepTimeoutError": "flowyml.errors",
    "SubmissionResult": "flowyml.results",
    "WaitTimeoutError": "flowyml.results",
    "get_run": "flowyml.run_history",
    "group_steps": "flowyml.grouping",
    "hookimpl": "flowyml.hookspecs",
    "step": "flowyml.steps",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml.artifact_store import ArtifactRef, ArtifactStore, LocalArtifactStore
    from flowyml.context import Context
    from flowyml.dag import DAG
    from flowyml.errors import (
        ArtifactError,
        ArtifactLoadError,
        BackendError,
        CacheError,
        ConfigError,
        FlowyMLError,
        MaterializationError,
        PipelineDefinitionError,
        PluginError,
        RunInterrupted,
        RunNotFoundError,
        StepExecutionError,
        StepTimeoutError,
    )
    from flowyml.executor import Executor, ExecutorConfig
    from flowyml.grouping import StepGroup, group_steps
    from flowyml.hookspecs import hookimpl
    from flowyml.materializers import Materializer
    from flowyml.orchestrator import Orchestrator
    from flowyml.pipeline import Pipeline
    from flowyml.pipeline_run import PipelineRun
    from flowyml.remote_orchestrator import RemoteOrchestrator, RemoteOrchestratorConfig
    from flowyml.resources import DockerConfig, ResourceConfig
    from flowyml.results import ExecutionResult, SubmissionResult, WaitTimeoutError
    from flowyml.retry import RetryPolicy
    from flowyml.run_history import get_run
    from flowyml.run_listener import RunListener
    from flowyml.status import ExecutionStatus
    from flowyml.steps import Step, step


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
