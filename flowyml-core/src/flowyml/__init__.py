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
    "ArtifactRef": "flowyml.records.artifact_ref",
    "ArtifactStore": "flowyml.storage.artifact_store",
    "BackendError": "flowyml.errors",
    "CacheError": "flowyml.errors",
    "ConfigError": "flowyml.errors",
    "Context": "flowyml.definition.context",
    "DAG": "flowyml.definition.dag",
    "DockerConfig": "flowyml.records.resources",
    "ExecutionResult": "flowyml.records.results",
    "ExecutionStatus": "flowyml.records.status",
    "Executor": "flowyml.execution.executor",
    "ExecutorConfig": "flowyml.execution.executor",
    "FlowyMLError": "flowyml.errors",
    "LocalArtifactStore": "flowyml.storage.artifact_store",
    "MaterializationError": "flowyml.errors",
    "Materializer": "flowyml.storage.materializers",
    "Orchestrator": "flowyml.execution.scheduler",
    "Scheduler": "flowyml.execution.scheduler",
    "Pipeline": "flowyml.execution.launch",
    "PipelineDefinitionError": "flowyml.errors",
    "PipelineRun": "flowyml.storage.pipeline_run",
    "PluginError": "flowyml.errors",
    "RemoteOrchestrator": "flowyml.execution.remote",
    "RemoteOrchestratorConfig": "flowyml.execution.remote",
    "ResourceConfig": "flowyml.records.resources",
    "ResourceUsage": "flowyml.records.usage",
    "RetryPolicy": "flowyml.definition.retry",
    "RunInterrupted": "flowyml.errors",
    "RunListener": "flowyml.records.listener",
    "RunNotFoundError": "flowyml.errors",
    "Step": "flowyml.definition.steps",
    "StepExecutionError": "flowyml.errors",
    "StepGroup": "flowyml.definition.grouping",
    "StepTimeoutError": "flowyml.errors",
    "SubmissionResult": "flowyml.records.results",
    "WaitTimeoutError": "flowyml.records.results",
    "get_run": "flowyml.project.history",
    "group_steps": "flowyml.definition.grouping",
    "hookimpl": "flowyml.plugins.hookspecs",
    "step": "flowyml.definition.steps",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml.definition.context import Context
    from flowyml.definition.dag import DAG
    from flowyml.definition.grouping import StepGroup, group_steps
    from flowyml.definition.retry import RetryPolicy
    from flowyml.definition.steps import Step, step
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
    from flowyml.execution.executor import Executor, ExecutorConfig
    from flowyml.execution.launch import Pipeline
    from flowyml.execution.remote import RemoteOrchestrator, RemoteOrchestratorConfig
    from flowyml.execution.scheduler import Orchestrator, Scheduler
    from flowyml.plugins.hookspecs import hookimpl
    from flowyml.project.history import get_run
    from flowyml.records.artifact_ref import ArtifactRef
    from flowyml.records.listener import RunListener
    from flowyml.records.resources import DockerConfig, ResourceConfig
    from flowyml.records.results import ExecutionResult, SubmissionResult, WaitTimeoutError
    from flowyml.records.status import ExecutionStatus
    from flowyml.records.usage import ResourceUsage
    from flowyml.storage.artifact_store import ArtifactStore, LocalArtifactStore
    from flowyml.storage.materializers import Materializer
    from flowyml.storage.pipeline_run import PipelineRun


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
