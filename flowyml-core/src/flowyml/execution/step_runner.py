"""The step runner: executes step groups in another process or environment.

Any backend that runs steps away from the user's process (a subprocess, a container, a
cloud job) does the same three things:

1. :func:`write_task` puts the group's task — which steps, their parameters, and the
   artifact references of their inputs — in the artifact store under the run's folder;
2. it runs ``flowyml step-runner --run-id ID --group NAME --artifact-store URI`` in the
   target environment (:func:`step_runner_args` builds the arguments);
3. :func:`read_manifest` reads back the result manifest, the ``ExecutionResult`` of each
   step with the references of its outputs.

The step runner itself (:func:`run_task`) loads the pipeline or steps by reference,
loads inputs from the store, runs each step with the shared in-process engine, measures
what each step consumed in its own process (see :mod:`flowyml.execution.step_usage`),
writes the manifest after every step (so a crash keeps what finished), and exits
non-zero when a step failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowyml.definition.steps import Step
from flowyml.errors import ArtifactError, PipelineDefinitionError
from flowyml.records.artifact_ref import ArtifactRef
from flowyml.records.usage import ResourceUsage
from flowyml.storage.artifact import Artifact
from flowyml.storage.artifact_store import ArtifactStore

if TYPE_CHECKING:
    from flowyml.records.results import ExecutionResult

__all__ = [
    "TASK_FORMAT",
    "main",
    "manifest_entry",
    "manifest_key",
    "parse_args",
    "read_manifest",
    "run_task",
    "step_runner_args",
    "task_key",
    "write_task",
]

TASK_FORMAT = 1


def task_key(run_id: str, group: str) -> str:
    """Where a group's task lives in the artifact store."""
    return f"runs/{run_id}/groups/{group}/task.json"


def manifest_key(run_id: str, group: str) -> str:
    """Where a group's result manifest lives in the artifact store."""
    return f"runs/{run_id}/groups/{group}/manifest.json"


def write_task(
    store: ArtifactStore,
    run_id: str,
    group: str,
    steps: list[Step],
    inputs: dict[str, Any],
    params: dict[str, dict[str, Any]],
    reference: dict[str, str],
    project_name: str = "default",
) -> str:
    """Store a group's task; inputs that exist only in memory are stored first.

    Args:
        store: the artifact store both sides can reach.
        run_id: the run.
        group: the group name (also names the manifest).
        steps: the member steps in execution order.
        inputs: artifact name -> value or ``Artifact``.
        params: step name -> context parameters.
        reference: either ``{"pipeline": "MOD:ATTR"}`` or step name -> ``"MOD:ATTR"``.
        project_name: recorded with results.

    Returns:
        The task key.
    """
    refs: dict[str, dict[str, Any]] = {}
    for name, value in inputs.items():
        if isinstance(value, Artifact) and value.ref is not None:
            refs[name] = {**value.ref.to_dict(), "fingerprint": value.fingerprint}
            continue
        raw = value.value if isinstance(value, Artifact) else value
        ref = store.save(raw, what=f"input '{name}' of group '{group}'")
        fingerprint = value.fingerprint if isinstance(value, Artifact) else ""
        refs[name] = {**ref.to_dict(), "fingerprint": fingerprint}
    task = {
        "format": TASK_FORMAT,
        "run_id": run_id,
        "group": group,
        "project": project_name,
        "steps": [s.name for s in steps],
        "reference": reference,
        "params": params,
        "inputs": refs,
    }
    store.write_named(task_key(run_id, group), json.dumps(task).encode())
    return task_key(run_id, group)


def step_runner_args(run_id: str, group: str, artifact_store_uri: str) -> list[str]:
    """Arguments after ``flowyml`` that run one group's task."""
    return [
        "step-runner",
        "--run-id",
        run_id,
        "--group",
        group,
        "--artifact-store",
        artifact_store_uri,
    ]


def read_manifest(store: ArtifactStore, run_id: str, group: str) -> list[ExecutionResult]:
    """The results a step runner recorded (empty when it wrote none)."""
    from flowyml.records.results import ExecutionResult

    try:
        data = json.loads(store.read_named(manifest_key(run_id, group)))
    except ArtifactError:
        return []
    return [ExecutionResult.model_validate(item) for item in data["results"]]


def manifest_entry(fields: dict[str, Any]) -> dict[str, Any]:
    """A result's fields (as :func:`~flowyml.execution.run_step.execute_step_in_process`
    sets them) as the JSON that ``ExecutionResult.model_dump(mode="json")`` gives, without
    the in-memory ``output``; fields left out take their defaults when read back."""
    entry: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "output":
            continue
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, ResourceUsage):
            value = value.to_dict()
        entry[name] = value
    return entry


def _resolve_steps(task: dict[str, Any]) -> list[Step]:
    from flowyml.definition.pipeline import PipelineDefinition as Pipeline
    from flowyml.definition.references import load_reference

    reference = task["reference"]
    if "pipeline" in reference:
        pipeline = load_reference(reference["pipeline"])
        if not isinstance(pipeline, Pipeline):
            raise PipelineDefinitionError(f"{reference['pipeline']} is not a flowyml Pipeline")
        return [pipeline.step_by_name(name) for name in task["steps"]]
    steps = []
    for name in task["steps"]:
        found = load_reference(reference[name])
        if not isinstance(found, Step):
            raise PipelineDefinitionError(f"{reference[name]} is not a flowyml step")
        steps.append(found)
    return steps


def _wait_as_init(child: int) -> int:
    """As PID 1 of a container, wait for the child running the steps; its exit code.

    PID 1 ignores every signal it has no handler for — even a SIGKILL a step sends its own
    process — and inherits orphans to reap. So the steps run in a child, where faults
    behave as on every other backend, and this process forwards stop signals to it,
    reaps whatever ends, and exits as the child did (128 + N for a signal, as a shell).
    """
    import signal

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        pid, status = os.wait()
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


def run_task(
    store: ArtifactStore,
    run_id: str,
    group: str,
    pipeline_ref: str | None = None,
    steps: list[str] | None = None,
) -> int:
    """Execute a stored task; returns the process exit code (0 when every step succeeded).

    Args:
        store: the artifact store holding the task.
        run_id: the run.
        group: the group whose task to run.
        pipeline_ref: load steps from this pipeline instead of the task's reference.
        steps: the steps the caller expects; must match the task's.

    Raises:
        PipelineDefinitionError: the task and the expected steps disagree, or the
            pipeline cannot be imported.
    """
    from flowyml.definition.pipeline import STEP_RUNNER_ENV
    from flowyml.execution.interrupts import stop_on_sigterm
    from flowyml.execution.run_step import execute_step_in_process
    from flowyml.execution.step_usage import ProcessMeter

    os.environ[STEP_RUNNER_ENV] = "1"
    stop_on_sigterm()
    task = json.loads(store.read_named(task_key(run_id, group)))
    if steps is not None and steps != task["steps"]:
        raise PipelineDefinitionError(
            f"--steps {','.join(steps)} does not match the task of group '{group}' "
            f"({','.join(task['steps'])})"
        )
    if pipeline_ref:
        task["reference"] = {"pipeline": pipeline_ref}
    members = _resolve_steps(task)
    available: dict[str, Any] = {
        name: Artifact(name, ref.get("fingerprint", ""), ref=ArtifactRef.from_dict(ref, store))
        for name, ref in task["inputs"].items()
    }
    results: list[dict[str, Any]] = []
    failed = False
    meter = ProcessMeter()
    for member in members:
        params = task["params"].get(member.name, {})
        inputs = {name: available[name] for name in member.inputs if name in available}
        meter.start()
        # The result's fields as a plain dict: no ExecutionResult (and so no pydantic)
        # in the step's process; read_manifest validates them on the orchestrator's side.
        fields: dict[str, Any] = execute_step_in_process(  # type: ignore[assignment]
            member,
            inputs,
            params,
            artifact_store=store,
            run_id=run_id,
            project_name=task.get("project", "default"),
            all_outputs=available,
            echo_logs=True,
            make_result=dict,
        )
        usage = meter.stop()
        if fields.get("usage") is not None:  # the step ran: its process's figures are exact
            fields["usage"] = usage
        results.append(manifest_entry(fields))
        store.flush()  # outputs first: the manifest must never name an invisible artifact
        store.write_named(manifest_key(run_id, group), json.dumps({"results": results}).encode())
        if not fields["success"]:
            failed = True
            break
        for name, uri in fields.get("outputs", {}).items():
            available[name] = Artifact.from_result(name, None, uri)
    return 1 if failed else 0


_OPTIONS = ("--run-id", "--group", "--artifact-store", "--pipeline", "--steps")
_REQUIRED = _OPTIONS[:3]
_USAGE = (
    "usage: flowyml step-runner --run-id ID --group NAME --artifact-store URI"
    " [--pipeline REF] [--steps A,B]"
)


def parse_args(argv: list[str]) -> dict[str, str] | str:
    """The options of ``flowyml step-runner`` (``--name value`` or ``--name=value``), by
    name; or the error to report.

    The same options as the click command of that name (``flowyml step-runner --help``).
    Our launchers write them, so this reads them plainly: argparse would cost every
    container, subprocess and job a few milliseconds at start (gettext's look-up of
    translations, shutil for the terminal's width).
    """
    options: dict[str, str] = {}
    rest = list(argv)
    while rest:
        name, equals, value = rest.pop(0).partition("=")
        if name not in _OPTIONS:
            return f"unrecognized argument: {name}"
        if not equals:
            if not rest or rest[0] in _OPTIONS:
                return f"argument {name}: expected one argument"
            value = rest.pop(0)
        options[name] = value
    missing = [name for name in _REQUIRED if name not in options]
    if missing:
        return f"the following arguments are required: {', '.join(missing)}"
    return options


def main(argv: list[str]) -> int:
    """``flowyml step-runner ARGS``: run one group's task; returns the exit code (2 for
    arguments it cannot use, as a command line tool does)."""
    from flowyml.errors import FlowyMLError, RunInterrupted
    from flowyml.plugins.manager import get_plugin_manager

    options = parse_args(argv)
    if isinstance(options, str):
        print(f"{_USAGE}\nflowyml step-runner: error: {options}", file=sys.stderr)
        return 2
    if os.getpid() == 1 and hasattr(os, "fork"):
        child = os.fork()
        if child:
            return _wait_as_init(child)
    try:
        store = get_plugin_manager().artifact_store_for(options["--artifact-store"])
        steps = options.get("--steps")
        return run_task(
            store,
            options["--run-id"],
            options["--group"],
            pipeline_ref=options.get("--pipeline"),
            steps=steps.split(",") if steps else None,
        )
    except FlowyMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:  # stopped with its run: the job is being cancelled
        print(f"step runner {exc}", file=sys.stderr)
        return exc.exit_code
