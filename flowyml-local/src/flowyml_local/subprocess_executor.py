"""The ``subprocess`` backend: each step or group in a fresh Python process.

Isolation from crashes, leaks and global state: the child runs ``flowyml step-runner``
on a task written to the artifact store, and the result manifest comes back the same
way. A hard timeout kills the child's whole process group; a segfault, ``os._exit`` or a
kill by signal becomes a failed result naming the exit code or signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flowyml.artifact_store import ArtifactStore
from flowyml.context import Context
from flowyml.errors import PipelineDefinitionError
from flowyml.executor import Executor, ExecutorConfig, params_for
from flowyml.results import ExecutionResult
from flowyml.step_execution import lookup_cache
from flowyml.step_runner import read_manifest, step_runner_args, write_task
from pydantic import Field

__all__ = ["SubprocessExecutor", "SubprocessExecutorConfig"]

_KILL_GRACE = 2.0


class SubprocessExecutorConfig(ExecutorConfig):
    """Settings of the ``subprocess`` backend.

    Attributes:
        max_workers: how many child processes may run at once.
        python: the interpreter that runs the children.
        env: extra environment variables for the children.
    """

    max_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    python: str = sys.executable
    env: dict[str, str] = Field(default_factory=dict)


def describe_exit(code: int) -> str:
    """Human words for a child's exit status (negative: killed by that signal)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"process killed by {name}{hint}"
    return f"process exited with code {code}"


class SubprocessExecutor(Executor):
    """Runs each step (or group) in a new Python process through the step runner."""

    name = "subprocess"
    config_model = SubprocessExecutorConfig

    def __init__(
        self,
        max_workers: int | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
    ) -> None:
        self.max_workers = max_workers or os.cpu_count() or 2
        self.python = python
        self.env = dict(env or {})

    def execute_step(
        self,
        step: Any,
        inputs: dict[str, Any],
        context_params: dict[str, Any],
        cache_store: Any | None = None,
        artifact_store: Any | None = None,
        run_id: str | None = None,
        project_name: str = "default",
        all_outputs: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Execute one step in a child process (cache checked here first).

        Args:
            step: Step to execute.
            inputs: Input data for the step.
            context_params: Parameters from context.
            cache_store: Cache store for caching.
            artifact_store: Artifact store the child reads inputs from and writes to.
            run_id: Unique ID for this pipeline run.
            project_name: Name of the project.
            all_outputs: Collection of all step outputs for conditional evaluation.

        Returns:
            ExecutionResult with output references or error.
        """
        params = {k: context_params[k] for k in step.context_params if k in context_params}
        key, hit = lookup_cache(step, inputs, params, cache_store, artifact_store)
        if hit is not None:
            first = hit.get(step.outputs[0]) if step.outputs else None
            return ExecutionResult(
                step_name=step.name, success=True, cached=True, outputs=hit,
                artifact_uri=first, cache_key=key,
            )
        results = self._run_children(
            [step], inputs, {step.name: dict(context_params)}, artifact_store, run_id,
            project_name, group_name=step.name, timeout=step.timeout,
        )
        result = results[0]
        if key is not None and result.success and not result.skipped and cache_store is not None:
            refs = {name: {"uri": uri, "digest": "", "size": 0} for name, uri in result.outputs.items()}
            cache_store.record(key, step.name, refs)
            result = result.model_copy(update={"cache_key": key})
        return result

    def execute_step_group(
        self,
        step_group: Any,
        inputs: dict[str, Any],
        context: Any | None = None,
        context_params: dict[str, Any] | None = None,
        cache_store: Any | None = None,
        artifact_store: Any | None = None,
        run_id: str | None = None,
        project_name: str = "default",
    ) -> list[ExecutionResult]:
        """Execute a group's steps, in order, in one child process.

        Args:
            step_group: StepGroup to execute.
            inputs: Input data available to the group.
            context: Context object for per-step parameter injection (preferred).
            context_params: Parameters from context (deprecated, use context instead).
            cache_store: Not used: a group runs as a unit.
            artifact_store: Artifact store for materialization.
            run_id: Run identifier.
            project_name: Project name.

        Returns:
            List of ExecutionResult (one per step that ran, in execution order).
        """
        steps = list(step_group.steps)
        params = {s.name: params_for(s.name, context, context_params) for s in steps}
        timeouts = [s.timeout for s in steps]
        timeout = None if any(t is None for t in timeouts) else sum(t for t in timeouts if t)
        group_inputs = {name: inputs[name] for name in step_group.inputs if name in inputs}
        return self._run_children(
            steps, group_inputs, params, artifact_store, run_id, project_name,
            group_name=step_group.name, timeout=timeout,
        )

    def _run_children(
        self,
        steps: list[Any],
        inputs: dict[str, Any],
        params: dict[str, dict[str, Any]],
        artifact_store: ArtifactStore | None,
        run_id: str | None,
        project_name: str,
        group_name: str,
        timeout: float | None,
    ) -> list[ExecutionResult]:
        started_at = datetime.now(UTC)
        start = time.perf_counter()

        def failed(message: str, logs: str = "", exit_code: int | None = None) -> ExecutionResult:
            return ExecutionResult(
                step_name=steps[0].name, success=False, error=message, logs=logs,
                exit_code=exit_code, started_at=started_at, finished_at=datetime.now(UTC),
                duration_seconds=time.perf_counter() - start,
            )

        if artifact_store is None:
            from flowyml.project import open_project

            artifact_store = open_project().artifact_store()
        run_id = run_id or "adhoc-" + os.urandom(4).hex()
        reference: dict[str, str] = {}
        for member in steps:
            ref = member.reference()
            if ref is None:
                raise PipelineDefinitionError(
                    f"step '{member.name}' is not a module-level variable, so a subprocess "
                    "cannot import it; define it at the top level of a module or script"
                )
            reference[member.name] = ref
        json_params = {name: dict(p) if not isinstance(p, Context) else p.to_dict()
                       for name, p in params.items()}
        write_task(artifact_store, run_id, group_name, steps, inputs, json_params, reference,
                   project_name)
        command = [self.python, "-m", "flowyml",
                   *step_runner_args(run_id, group_name, artifact_store.root)]
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills every descendant
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            results = read_manifest(artifact_store, run_id, group_name)
            done = {r.step_name for r in results}
            current = next(s for s in steps if s.name not in done) if len(done) < len(steps) else steps[-1]
            return [*results, failed(
                f"step '{current.name}' exceeded its timeout of {timeout} s; its process group "
                "was killed", output.decode(errors="replace"), process.returncode,
            ).model_copy(update={"step_name": current.name})]
        except BaseException:
            _kill_group(process)
            raise
        finally:
            if process.poll() is None:
                _kill_group(process)
        logs = output.decode(errors="replace")
        results = read_manifest(artifact_store, run_id, group_name)
        if process.returncode != 0 and (not results or results[-1].success):
            done = {r.step_name for r in results}
            pending = [s for s in steps if s.name not in done]
            name = pending[0].name if pending else steps[-1].name
            crash = failed(
                f"step '{name}' crashed: {describe_exit(process.returncode)}",
                logs,
                process.returncode,
            ).model_copy(update={"step_name": name})
            return [*results, crash]
        if not results:
            return [failed(f"the step runner wrote no results ({describe_exit(process.returncode)})",
                           logs, process.returncode)]
        return [r.model_copy(update={"exit_code": process.returncode}) for r in results]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, then SIGKILL what is left after a grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(_KILL_GRACE)
    except subprocess.TimeoutExpired:
        pass  # still alive after the grace period: SIGKILL below
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
