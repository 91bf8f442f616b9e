"""What runs on a Dask worker: one step group, through the core's step engine.

A task runs :func:`run_group`. It resolves the group's inputs (values of producer tasks,
which Dask hands over in place on the same worker, or stored artifacts), runs each member
with :func:`flowyml.backend.execute_step_in_process` (conditions, retries, timeouts,
output capture and materialization stay the core's), and returns the members' results with
the values of their outputs. The result records also travel to the client as a scheduler
event, so the client learns how the group ended without fetching the values: those stay
on the worker, as the task's result, for the consumers.

What a step prints is sent back on the same event topic while it runs (see
:class:`_Forwarding`). A step past its timeout is stopped before the task returns (see
:mod:`flowyml_dask.overrun`); when it cannot be, its record says on which worker
(``stuck_on``), for the client to restart that worker.
"""

from __future__ import annotations

import contextvars
import importlib
import io
import sys
import threading
import traceback
from typing import Any, TextIO

from flowyml.backend import ArtifactError, ArtifactRef, artifact_store_for, execute_step_in_process
from flowyml_dask.overrun import WatchedStep

__all__ = ["InputSpec", "named_outputs", "run_group", "step_spec"]

#: How an input reaches the worker: ("task", producer result, output name), ("ref", uri),
#: or ("value", value). Dask replaces the producer's future with its result in place.
InputSpec = tuple[Any, ...]

# The event topic and step of the step running in this context (None: not a flowyml step).
_forward_to: contextvars.ContextVar[tuple[Any, str, str] | None] = contextvars.ContextVar(
    "flowyml_dask_forward_to", default=None
)
_install_lock = threading.Lock()
_streams: tuple[_Forwarding, _Forwarding] | None = None  # installed once per worker process


class _Forwarding(io.TextIOBase):
    """The worker's ``sys.stdout``/``sys.stderr`` while flowyml steps run on it.

    A write made inside a step (a context with :data:`_forward_to` set) goes to the run's
    event topic, whole lines at a time, so the client records (and may print) it as it
    comes; every other write goes to the original stream. Per context, never shared
    between steps.
    """

    def __init__(self, original: TextIO) -> None:
        self.original = original
        self._partial: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        target = _forward_to.get()
        if target is None:
            return self.original.write(text)
        worker, topic, step_name = target
        with self._lock:
            head, newline, tail = (self._partial.pop((topic, step_name), "") + text).rpartition(
                "\n"
            )
            if tail:
                self._partial[(topic, step_name)] = tail
        if newline:
            worker.log_event(topic, {"kind": "log", "step": step_name, "text": head + newline})
        return len(text)

    def end_step(self, worker: Any, topic: str, step_name: str) -> None:
        """Send what the step printed after its last newline."""
        with self._lock:
            tail = self._partial.pop((topic, step_name), "")
        if tail:
            worker.log_event(topic, {"kind": "log", "step": step_name, "text": tail + "\n"})

    def flush(self) -> None:
        self.original.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.original.fileno()


def _forwarding() -> tuple[_Forwarding, _Forwarding]:
    """Install the forwarding streams once per worker process; both of them."""
    global _streams
    with _install_lock:
        if _streams is None:
            # Under the core's per-step capture, which wraps whatever sys.stdout is when a
            # step starts: installed before this process's first step, never above it.
            _streams = (_Forwarding(sys.stdout), _Forwarding(sys.stderr))
            sys.stdout, sys.stderr = _streams
        return _streams


def named_outputs(step: Any, value: Any) -> dict[str, Any]:
    """A successful step's return value by output name (its shape was checked already)."""
    names = list(step.outputs)
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: value}
    if isinstance(value, dict):
        return {name: value[name] for name in names}
    return dict(zip(names, value, strict=True))


def step_spec(step: Any) -> Any:
    """How a step travels to the worker: ``MODULE:ATTR`` when a module holds it, so the
    worker imports it (cheap, and tracebacks keep their files); else the step itself,
    pickled by value (a step defined in a script run as a file)."""
    reference = step.reference()
    if reference and "/" not in reference and not reference.partition(":")[0].endswith(".py"):
        return reference
    return step


_imported: dict[str, Any] = {}


def _load_step(spec: Any) -> Any:
    if not isinstance(spec, str):
        return spec
    found = _imported.get(spec)
    if found is None:
        module, _, attribute = spec.partition(":")
        found = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
        _imported[spec] = found
    return found


def _resolve(spec: InputSpec) -> Any:
    kind = spec[0]
    if kind == "task":
        return spec[1][1][spec[2]]  # (records, values) of the producer -> one value
    if kind == "ref":
        return ArtifactRef(spec[1], "", 0).load()
    return spec[1]


def _failure(step_name: str, error: str, lost: list[str]) -> dict[str, Any]:
    return {
        "step_name": step_name,
        "success": False,
        "error": error,
        "traceback": traceback.format_exc(),
        "lost_inputs": lost,
    }


def run_group(
    steps: list[Any],
    inputs: dict[str, InputSpec],
    params: dict[str, dict[str, Any]],
    store_root: str,
    run_id: str,
    project_name: str,
    topic: str,
    key: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run a group's members in order on this worker; stop at the first failure.

    Returns:
        The members' results as JSON-ready dicts (without their values), and the value of
        every output of the members that succeeded, by artifact name.
    """
    from distributed import get_worker

    worker = get_worker()
    steps = [_load_step(spec) for spec in steps]
    store = artifact_store_for(store_root)
    streams = _forwarding()  # always, so that it is installed below the core's capture
    available: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for name, spec in inputs.items():
        try:
            available[name] = _resolve(spec)
        except ArtifactError as exc:
            # A stored artifact that is gone: the orchestrator may recompute its producer.
            error = f"step '{steps[0].name}': cannot load its input '{name}': {exc}"
            records.append(_failure(steps[0].name, error, [name]))
            _report(worker, topic, key, records)
            return records, values
    for member in steps:
        # Always sent: the client records what steps print while they run, and prints it
        # when its run echoes.
        token = _forward_to.set((worker, topic, member.name))
        watched = WatchedStep(member) if member.timeout else None
        try:
            result = execute_step_in_process(
                watched.step if watched else member,
                {name: available[name] for name in member.inputs if name in available},
                params.get(member.name, {}),
                artifact_store=store,
                run_id=run_id,
                project_name=project_name,
                all_outputs=available,
                echo_logs=True,
            )
        finally:
            _forward_to.reset(token)
            for stream in streams:
                stream.end_step(worker, topic, member.name)
        records.append(result.model_dump(mode="json", exclude={"output"}))
        if watched is not None and watched.running():
            records[-1].update(_stop_overrun(watched, member, worker.address, result.success))
        if not result.success:
            break
        if not result.skipped:
            produced = named_outputs(member, result.output)
            values.update(produced)
            available.update(produced)
    store.flush()  # before the client records results naming these artifacts
    _report(worker, topic, key, records)
    return records, values


def _stop_overrun(watched: WatchedStep, step: Any, address: str, succeeded: bool) -> dict[str, Any]:
    """Stop the attempts of a step the engine abandoned past its timeout (a later retry
    may have succeeded); the fields of its record that change."""
    stopped = watched.stop()
    timeout = f"step '{step.name}' exceeded its timeout of {step.timeout:g} s"
    changes: dict[str, Any] = {} if stopped else {"stuck_on": address}
    if not succeeded:
        changes["error"] = (
            f"{timeout} and was stopped"
            if stopped
            else f"{timeout}; its thread, blocked outside Python code, did not stop, so its "
            f"Dask worker {address} is restarted by its nanny"
        )
    return changes


def _report(worker: Any, topic: str, key: str, records: list[dict[str, Any]]) -> None:
    worker.log_event(topic, {"kind": "done", "key": key, "records": records})


def records_of(outcome: tuple[list[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of a finished group task (run where the task's result lives)."""
    return outcome[0]
