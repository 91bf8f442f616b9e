"""The backend API: everything a backend author imports from flowyml-core.

A backend plugin imports three modules of the core and nothing else: :mod:`flowyml`
(the user API: ``Pipeline``, ``step``...), this module, and :mod:`flowyml.testing` (the
conformance suite its tests subclass). Our own plugins (``local``, ``subprocess``,
``docker``, ``vertex_ai``) are written against exactly this surface, so a third party
can do whatever they do.

What a backend author gets, by group:

Contracts
    ``Executor`` and ``ExecutorConfig`` (run steps in process or elsewhere);
    ``TaskExecutor``, ``LaunchOutcome`` and ``describe_exit`` (run each step group
    through the step runner: implement only ``launch``); ``RemoteOrchestrator``,
    ``RemoteOrchestratorConfig`` and ``SubmitOptions`` (hand a whole run to another
    system); ``Scheduler`` (the core DAG scheduler a remote orchestrator runs over its
    own executor; ``Orchestrator`` is its older name, kept working) and
    ``start_background_run`` (run it in a thread so that ``run_pipeline`` returns at
    once); ``RunListener`` (progress events); ``hookimpl``
    (marks the plugin's hook implementations) and ``BackendReference`` (registers a
    backend by name and ``"module:Class"``, imported only when it is used).

Remote runs, one handle per step group
    ``TrackedRemoteOrchestrator`` (a ``RemoteOrchestrator`` with run tracking, status,
    details, logs and streams done: a backend adds how to start, watch and stop a
    group's container or job, and ``foreign_*`` hooks for runs of other processes);
    ``RunTracker`` and ``GroupRecord`` (what the submitting process knows of a run);
    ``watch_handle``, ``Backoff`` and ``WatchOutcome`` (follow a job by polling with a
    growing wait, copying its logs, stopping it on a stop or a timeout);
    ``LogEntry``, ``log_text``, ``now_iso`` and ``stored_log_entries`` (log entries as
    one typed record); ``live_output`` (where an executor passes on what a step prints in
    another process while it runs, so the run store shows it live); ``stop_run`` (stop a
    run of any backend from any process);
    ``validated_settings`` (settings checked, or a ``ConfigError`` naming each key).

Step launching
    ``execute_step_in_process`` (run one step here with every policy applied);
    ``step_runner_args`` (the arguments of ``flowyml step-runner`` for one group),
    ``write_task``, ``read_manifest``, ``task_key`` and ``manifest_key`` (the group's task
    and result manifest in the artifact store); ``step_runner_main`` (the step runner
    itself, for a launcher that runs it in a process it forked);
    ``preload_step_runner`` and ``flush_run_records`` (for such forked processes).

Stores
    ``ArtifactStore``, ``ArtifactRef``, ``LocalArtifactStore`` and ``Materializer``;
    ``BucketArtifactStore`` and ``split_bucket_uri`` (a store in a ``gs://``/``s3://``
    bucket: supply put, get, has and the client's errors);
    ``installed_materializers``, ``register_artifact_store`` and ``artifact_store_for``
    (the process's stores by URI); ``RunStore`` with the records it returns,
    ``RunRecord`` and ``StepRecord``; ``CacheStore``.

Project and configuration
    ``open_project`` and ``Project`` (the project's folder, run store, cache and artifact
    store); ``load_config``, ``ProjectConfig`` and ``StackConfig`` (the stacks of
    ``flowyml.yaml``); ``format_validation_error`` (a settings error in the words of a
    ``ConfigError``).

Records
    ``ExecutionResult``, ``ExecutionStatus``, ``SubmissionResult``, ``StepGroup`` and
    ``group_steps``, ``ResourceConfig`` and ``parse_memory``, ``DockerConfig``,
    ``Context``, ``ResourceUsage`` (what a step consumed); ``MachineCatalog`` and
    ``MachineType`` (a backend's machine shapes and prices), ``load_machine_catalog``
    (the project's price file, else the one a distribution ships); ``RunPlan``,
    ``GroupPlan``, ``StepPlan`` and ``plan_run`` (what a run would do, for ``--plan``).

Errors
    ``FlowyMLError`` and its subclasses ``PipelineDefinitionError``, ``ConfigError``,
    ``PluginError``, ``BackendError``, ``StepExecutionError``, ``StepTimeoutError``,
    ``ArtifactError``, ``ArtifactLoadError``, ``MaterializationError``, ``CacheError``,
    ``RunNotFoundError`` and ``WaitTimeoutError``; ``RunInterrupted`` (a run stopped by a
    signal).

Stability: ``BACKEND_API_VERSION`` names the version of this surface. Within one version
the names in ``__all__`` keep their meaning and stay compatible: new names, new optional
arguments and new methods with a default may be added. Removing or renaming a name, or
changing a signature or a contract incompatibly, bumps the version (``"1"`` to ``"2"``),
is announced in flowyml-core's CHANGELOG.md, and keeps the old name working, deprecated,
for at least one minor release where that is possible. A plugin may check the version at
import to refuse a core it was not written for. The modules these names live in
(``flowyml.execution.launcher``, ``flowyml.storage.run_store``...) are internal and may move or
change without notice: import from here.

Names are imported on first use, so ``import flowyml.backend`` costs next to nothing and
a plugin module pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The version of this surface; see the module docstring for when it changes.
BACKEND_API_VERSION = "1"

# Public name -> (module, attribute there). Only this table and the functions below know
# where the names live, so moving a core module changes nothing but this file.
_EXPORTS: dict[str, tuple[str, str]] = {
    # contracts
    "Executor": ("flowyml.execution.executor", "Executor"),
    "ExecutorConfig": ("flowyml.execution.executor", "ExecutorConfig"),
    "LaunchOutcome": ("flowyml.execution.launcher", "LaunchOutcome"),
    "TaskExecutor": ("flowyml.execution.launcher", "TaskExecutor"),
    "describe_exit": ("flowyml.execution.launcher", "describe_exit"),
    "RemoteOrchestrator": ("flowyml.execution.remote", "RemoteOrchestrator"),
    "RemoteOrchestratorConfig": ("flowyml.execution.remote", "RemoteOrchestratorConfig"),
    "SubmitOptions": ("flowyml.execution.remote", "SubmitOptions"),
    "Orchestrator": ("flowyml.execution.scheduler", "Orchestrator"),
    "Scheduler": ("flowyml.execution.scheduler", "Scheduler"),
    "TrackedRemoteOrchestrator": ("flowyml.execution.tracked_runs", "TrackedRemoteOrchestrator"),
    "RunTracker": ("flowyml.execution.run_tracker", "RunTracker"),
    "Backoff": ("flowyml.execution.handle_watch", "Backoff"),
    "WatchOutcome": ("flowyml.execution.handle_watch", "WatchOutcome"),
    "watch_handle": ("flowyml.execution.handle_watch", "watch_handle"),
    "GroupRecord": ("flowyml.execution.run_tracker", "GroupRecord"),
    "stored_log_entries": ("flowyml.execution.tracked_runs", "stored_log_entries"),
    "live_output": ("flowyml.execution.log_capture", "live_output"),
    "stop_run": ("flowyml.execution.run_stop", "stop_run"),
    "LogEntry": ("flowyml.records.log_entry", "LogEntry"),
    "log_text": ("flowyml.records.log_entry", "log_text"),
    "now_iso": ("flowyml.records.log_entry", "now_iso"),
    "validated_settings": ("flowyml.project.config", "validated_settings"),
    "start_background_run": ("flowyml.execution.background", "start_background_run"),
    "RunListener": ("flowyml.records.listener", "RunListener"),
    "hookimpl": ("flowyml.plugins.hookspecs", "hookimpl"),
    "BackendReference": ("flowyml.plugins.plugin_records", "BackendReference"),
    # step launching
    "execute_step_in_process": ("flowyml.execution.run_step", "execute_step_in_process"),
    "manifest_key": ("flowyml.execution.step_runner", "manifest_key"),
    "read_manifest": ("flowyml.execution.step_runner", "read_manifest"),
    "step_runner_args": ("flowyml.execution.step_runner", "step_runner_args"),
    "step_runner_main": ("flowyml.execution.step_runner", "main"),
    "preload_step_runner": ("flowyml.execution.forked_runners", "preload_step_runner"),
    "flush_run_records": ("flowyml.execution.forked_runners", "flush_run_records"),
    "task_key": ("flowyml.execution.step_runner", "task_key"),
    "write_task": ("flowyml.execution.step_runner", "write_task"),
    # stores
    "ArtifactRef": ("flowyml.records.artifact_ref", "ArtifactRef"),
    "ArtifactStore": ("flowyml.storage.artifact_store", "ArtifactStore"),
    "LocalArtifactStore": ("flowyml.storage.artifact_store", "LocalArtifactStore"),
    "BucketArtifactStore": ("flowyml.storage.bucket_store", "BucketArtifactStore"),
    "split_bucket_uri": ("flowyml.storage.bucket_store", "split_bucket_uri"),
    "Materializer": ("flowyml.storage.materializers", "Materializer"),
    "CacheStore": ("flowyml.storage.cache", "CacheStore"),
    "RunRecord": ("flowyml.storage.run_store", "RunRecord"),
    "RunStore": ("flowyml.storage.run_store", "RunStore"),
    "StepRecord": ("flowyml.storage.run_store", "StepRecord"),
    # project and configuration
    "Project": ("flowyml.project.folder", "Project"),
    "open_project": ("flowyml.project.folder", "open_project"),
    "ProjectConfig": ("flowyml.project.config", "ProjectConfig"),
    "StackConfig": ("flowyml.project.config", "StackConfig"),
    "format_validation_error": ("flowyml.project.config", "format_validation_error"),
    "load_config": ("flowyml.project.config", "load_config"),
    "load_machine_catalog": ("flowyml.project.prices", "load_machine_catalog"),
    # records
    "Context": ("flowyml.definition.context", "Context"),
    "ExecutionResult": ("flowyml.records.results", "ExecutionResult"),
    "SubmissionResult": ("flowyml.records.results", "SubmissionResult"),
    "ExecutionStatus": ("flowyml.records.status", "ExecutionStatus"),
    "StepGroup": ("flowyml.definition.grouping", "StepGroup"),
    "group_steps": ("flowyml.definition.grouping", "group_steps"),
    "DockerConfig": ("flowyml.records.resources", "DockerConfig"),
    "ResourceConfig": ("flowyml.records.resources", "ResourceConfig"),
    "parse_memory": ("flowyml.records.resources", "parse_memory"),
    "MachineCatalog": ("flowyml.records.catalog", "MachineCatalog"),
    "MachineType": ("flowyml.records.catalog", "MachineType"),
    "GroupPlan": ("flowyml.records.plan", "GroupPlan"),
    "RunPlan": ("flowyml.records.plan", "RunPlan"),
    "StepPlan": ("flowyml.records.plan", "StepPlan"),
    "plan_run": ("flowyml.execution.planning", "plan_run"),
    "ResourceUsage": ("flowyml.records.usage", "ResourceUsage"),
    # errors
    "ArtifactError": ("flowyml.errors", "ArtifactError"),
    "ArtifactLoadError": ("flowyml.errors", "ArtifactLoadError"),
    "BackendError": ("flowyml.errors", "BackendError"),
    "CacheError": ("flowyml.errors", "CacheError"),
    "ConfigError": ("flowyml.errors", "ConfigError"),
    "FlowyMLError": ("flowyml.errors", "FlowyMLError"),
    "MaterializationError": ("flowyml.errors", "MaterializationError"),
    "PipelineDefinitionError": ("flowyml.errors", "PipelineDefinitionError"),
    "PluginError": ("flowyml.errors", "PluginError"),
    "RunInterrupted": ("flowyml.errors", "RunInterrupted"),
    "RunNotFoundError": ("flowyml.errors", "RunNotFoundError"),
    "StepExecutionError": ("flowyml.errors", "StepExecutionError"),
    "StepTimeoutError": ("flowyml.errors", "StepTimeoutError"),
    "WaitTimeoutError": ("flowyml.records.results", "WaitTimeoutError"),
}

# Defined below, or imported eagerly above; everything else loads on first use.
_DEFINED_HERE = (
    "BACKEND_API_VERSION",
    "artifact_store_for",
    "installed_materializers",
    "register_artifact_store",
)
__all__ = sorted([*_EXPORTS, *_DEFINED_HERE])

if TYPE_CHECKING:
    from flowyml.definition.context import Context
    from flowyml.definition.grouping import StepGroup, group_steps
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
    from flowyml.execution.background import start_background_run
    from flowyml.execution.executor import Executor, ExecutorConfig
    from flowyml.execution.forked_runners import flush_run_records, preload_step_runner
    from flowyml.execution.handle_watch import Backoff, WatchOutcome, watch_handle
    from flowyml.execution.launcher import LaunchOutcome, TaskExecutor, describe_exit
    from flowyml.execution.log_capture import live_output
    from flowyml.execution.planning import plan_run
    from flowyml.execution.remote import (
        RemoteOrchestrator,
        RemoteOrchestratorConfig,
        SubmitOptions,
    )
    from flowyml.execution.run_step import execute_step_in_process
    from flowyml.execution.run_stop import stop_run
    from flowyml.execution.run_tracker import GroupRecord, RunTracker
    from flowyml.execution.scheduler import Orchestrator, Scheduler
    from flowyml.execution.step_runner import main as step_runner_main
    from flowyml.execution.step_runner import (
        manifest_key,
        read_manifest,
        step_runner_args,
        task_key,
        write_task,
    )
    from flowyml.execution.tracked_runs import TrackedRemoteOrchestrator, stored_log_entries
    from flowyml.plugins.hookspecs import hookimpl
    from flowyml.plugins.plugin_records import BackendReference
    from flowyml.project.config import (
        ProjectConfig,
        StackConfig,
        format_validation_error,
        load_config,
        validated_settings,
    )
    from flowyml.project.folder import Project, open_project
    from flowyml.project.prices import load_machine_catalog
    from flowyml.records.artifact_ref import ArtifactRef
    from flowyml.records.catalog import MachineCatalog, MachineType
    from flowyml.records.listener import RunListener
    from flowyml.records.log_entry import LogEntry, log_text, now_iso
    from flowyml.records.plan import GroupPlan, RunPlan, StepPlan
    from flowyml.records.resources import DockerConfig, ResourceConfig, parse_memory
    from flowyml.records.results import ExecutionResult, SubmissionResult, WaitTimeoutError
    from flowyml.records.status import ExecutionStatus
    from flowyml.records.usage import ResourceUsage
    from flowyml.storage.artifact_store import ArtifactStore, LocalArtifactStore
    from flowyml.storage.bucket_store import BucketArtifactStore, split_bucket_uri
    from flowyml.storage.cache import CacheStore
    from flowyml.storage.materializers import Materializer
    from flowyml.storage.run_store import RunRecord, RunStore, StepRecord


def installed_materializers() -> list[Materializer]:
    """The materializers of every installed plugin, then the built-in ones.

    A backend that builds its own artifact store (with its own endpoint or credentials)
    passes these to it, so that it stores values the way every other store does.
    """
    from flowyml.plugins.manager import get_plugin_manager

    return get_plugin_manager().materializers()


def register_artifact_store(store: ArtifactStore) -> None:
    """Serve every URI under ``store.root`` with ``store`` in this process.

    A backend that built a store with its own endpoint or credentials registers it, so
    that outputs loaded later by URI (``run.outputs``, the cache) reach the same service.

    Args:
        store: the configured store.
    """
    from flowyml.plugins.manager import get_plugin_manager

    get_plugin_manager().add_artifact_store(store)


def artifact_store_for(uri: str) -> ArtifactStore:
    """The artifact store holding ``uri``: one instance per store root and process.

    Args:
        uri: an artifact or store URI (``file://``, or a scheme a plugin registers).

    Returns:
        The registered store for that root, else a new one of the class serving the scheme.

    Raises:
        PluginError: no installed plugin serves the URI's scheme.
    """
    from flowyml.plugins.manager import get_plugin_manager

    return get_plugin_manager().artifact_store_for(uri)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'flowyml.backend' has no attribute {name!r}")
    module, attribute = target
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
