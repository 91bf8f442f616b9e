"""Running one step in this process: the step-launching core every executor shares.

Conditions, cache look-up, retries with backoff, per-step timeout, output capture,
splitting of multiple outputs, materialization and cache recording all live here, once.
Executors add where the step runs (this process, a subprocess, a container); the step
runner in a remote environment calls this same code.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import copy_context
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flowyml.definition.fingerprint import stable_hash
from flowyml.definition.steps import Step
from flowyml.errors import ArtifactError, MaterializationError, StepExecutionError, StepTimeoutError
from flowyml.execution.interrupts import user_interrupted
from flowyml.execution.log_capture import StepLog, end_capture, live_sink, start_capture
from flowyml.execution.step_usage import thread_snapshot, thread_usage
from flowyml.storage.artifact import Artifact
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.cache import CacheStore, cache_key

if TYPE_CHECKING:
    from flowyml.records.results import ExecutionResult

__all__ = [
    "execute_step_in_process",
    "lookup_cache",
    "split_outputs",
    "step_key",
    "value_fingerprint",
]


_VARARGS = "\x00varargs:"  # prefix of inputs passed positionally to *args
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


def value_fingerprint(value: Any) -> str:
    """Fingerprint of a value passed from outside the pipeline (hashes its content)."""
    if isinstance(value, Artifact):
        return value.fingerprint
    try:
        encoded = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return "json:" + stable_hash(encoded)
    except (TypeError, ValueError):
        import pickle

        try:
            return "pickle:" + stable_hash(pickle.dumps(value, protocol=4))
        except Exception:  # unpicklable: never equal to anything, so never a false hit
            return f"volatile:{id(value)}"


def step_key(step: Step, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """The cache key of ``step`` run on ``inputs`` with ``params`` (its own parameters).

    Also what a resumed run compares to decide whether a completed step can be reused.
    """
    fingerprints = [  # an upstream step's output knows its fingerprint: no call for it
        v.fingerprint if type(v := inputs[name]) is Artifact else value_fingerprint(v)
        for name in step.inputs
    ]
    return cache_key(step.fingerprint, step.cache_version, dict(params), fingerprints, step.outputs)


def lookup_cache(
    step: Step,
    inputs: Mapping[str, Any],
    params: Mapping[str, Any],
    cache_store: CacheStore | None,
    artifact_store: ArtifactStore | None,
) -> tuple[str | None, dict[str, str] | None]:
    """The step's cache key (``None`` when it is not cacheable here) and, on a hit whose
    artifacts all still exist, output name -> URI."""
    if not step.cache or cache_store is None or artifact_store is None:
        return None, None
    key = step_key(step, inputs, params)
    hit = cache_store.lookup(key, step.name)
    if hit is None:
        return key, None
    uris = {}
    for name, ref in hit.items():
        uri = ref["uri"]
        if not artifact_store.exists(uri):
            return key, None
        uris[name] = uri
    return key, uris


def _resolve(value: Any) -> Any:
    return value.value if isinstance(value, Artifact) else value


def split_outputs(step: Step, value: Any) -> dict[str, Any]:
    """Map a step's return value to its declared outputs.

    Raises:
        StepExecutionError: the value does not fit the declared outputs.
    """
    names = step.outputs
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: value}
    if isinstance(value, dict) and set(value) == set(names):
        return {name: value[name] for name in names}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        missing = [name for name in names if name not in value]
        extra = [key for key in value if key not in names]
        raise StepExecutionError(
            f"step '{step.name}' declares outputs {names} but returned a dict"
            + (f" without {missing}" if missing else "")
            + (" and" if missing and extra else "")
            + (f" with unexpected keys {extra}" if extra else "")
            + "; return a dict keyed by exactly those names, or a tuple in that order"
        )
    if isinstance(value, tuple | list) and len(value) == len(names):
        return dict(zip(names, value, strict=True))
    raise StepExecutionError(
        f"step '{step.name}' declares {len(names)} outputs {names} but returned "
        f"{type(value).__name__}"
        + (f" of length {len(value)}" if isinstance(value, tuple | list) else "")
        + "; return a tuple in that order or a dict keyed by output name"
    )


def _format_exc() -> str:
    # traceback is imported by the first failure: most step runners never need it.
    import traceback

    return traceback.format_exc()


def _now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _result_factory() -> Callable[..., Any]:
    """``built_result``, imported on first use: a step runner passes its own factory and
    so never imports pydantic (see :func:`execute_step_in_process`)."""
    from flowyml.records.results import built_result

    return built_result


def _call(step: Step, kwargs: dict[str, Any], log: StepLog) -> Any:
    token = start_capture(log)
    try:
        if step.varargs_inputs:
            args = [kwargs[_VARARGS + name] for name in step.varargs_inputs]
            named = {k: v for k, v in kwargs.items() if not k.startswith(_VARARGS)}
            return step.func(*args, **named)
        return step.func(**kwargs)
    finally:
        end_capture(token)
        log.end()


def _call_with_timeout(
    step: Step, kwargs: dict[str, Any], log: StepLog, helper_cpu: list[float]
) -> Any:
    """Run the step in a helper thread and give up on it after ``step.timeout``.

    An in-process thread cannot be killed: a step that overruns is abandoned (it is
    reported failed and its result is ignored). The ``subprocess`` backend kills. The
    helper thread's CPU time is added to ``helper_cpu`` (user, system).
    """
    outcome: dict[str, Any] = {}
    context = copy_context()

    def target() -> None:
        before = thread_snapshot()
        try:
            outcome["value"] = context.run(_call, step, kwargs, log)
        except BaseException as exc:  # handed back to the calling thread below
            outcome["error"] = exc
        used = thread_usage(before, 0.0)
        helper_cpu[0] += used.cpu_user_seconds
        helper_cpu[1] += used.cpu_system_seconds

    thread = threading.Thread(target=target, name=f"flowyml-step-{step.name}", daemon=True)
    thread.start()
    thread.join(step.timeout)
    if thread.is_alive():
        raise StepTimeoutError(
            f"step '{step.name}' exceeded its timeout of {step.timeout} s and was abandoned"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _retries_timeouts(step: Step) -> bool:
    """Whether the step's ``retry_on`` names timeouts (the default ``Exception`` does not:
    an abandoned in-process attempt may still be running)."""
    return any(
        issubclass(StepTimeoutError, kind) and kind not in (Exception, BaseException)
        for kind in step.retry.retry_on
    )


def _exit_error(step: Step, exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return (
            f"step '{step.name}' called sys.exit({exc.code!r}); a step ends by returning or "
            "raising, so the run counts it as failed"
        )
    return f"step '{step.name}' raised KeyboardInterrupt itself (not a Ctrl-C of the run)"


def execute_step_in_process(
    step: Step,
    inputs: Mapping[str, Any],
    context_params: Mapping[str, Any],
    cache_store: CacheStore | None = None,
    artifact_store: ArtifactStore | None = None,
    run_id: str | None = None,
    project_name: str = "default",
    all_outputs: Mapping[str, Any] | None = None,
    *,
    echo_logs: bool = False,
    make_result: Callable[..., Any] | None = None,
) -> ExecutionResult:
    """Execute one step here, with every policy of the step applied.

    Inputs may be plain values or :class:`~flowyml.storage.artifact.Artifact` objects (whose
    fingerprints make cache look-ups free of hashing). Failures never raise: they come
    back as a failed :class:`ExecutionResult` with the error and traceback.

    ``make_result`` builds the result from the :class:`ExecutionResult` fields the
    execution sets, each of its field's type (the default builds the model itself). The
    step runner keeps them as a plain mapping: a container or job that runs one group
    then never imports pydantic, which costs more than most steps.
    """
    started_at = _now()
    start = time.perf_counter()
    before: Any = None  # taken once the step is known to run (not for cached or skipped)
    params = (
        {k: context_params[k] for k in step.context_params if k in context_params}
        if step.context_params
        else _NO_PARAMS
    )
    ran = False  # the step's function was called: its usage is recorded
    helper_cpu = [0.0, 0.0] if step.timeout else None
    build = make_result or _result_factory()

    def finish(**fields: Any) -> ExecutionResult:
        duration = time.perf_counter() - start
        if ran:
            # This thread's CPU time and the process's peak growth: approximate, since
            # other steps may share the process (see flowyml.execution.step_usage).
            fields["usage"] = thread_usage(before, duration, helper_cpu)
        # Every field is built here with the right type: no validation (see built_result).
        return build(  # type: ignore[no-any-return]
            step_name=step.name,
            duration_seconds=duration,
            started_at=started_at,
            finished_at=_now(),
            **fields,
        )

    if step.condition is not None:
        scope = {**context_params, **(all_outputs or {}), **inputs}
        try:
            args = {name: _resolve(scope[name]) for name in step.condition_params}
            allowed = bool(step.condition(**args))
        except Exception as exc:
            return finish(
                success=False,
                error=f"condition of step '{step.name}' raised {type(exc).__name__}: {exc}",
                traceback=_format_exc(),
            )
        if not allowed:
            return finish(success=True, skipped=True)

    for name in step.inputs:
        if name not in inputs:
            # Validation guarantees a producer for every input: one that is absent was
            # skipped upstream, so this step is skipped too.
            return finish(success=True, skipped=True)

    required = step.required_context
    missing = [p for p in required if p not in context_params] if required else None
    if missing:
        return finish(
            success=False,
            error=f"step '{step.name}' needs parameter(s) {missing}, which no input and no "
            "context value provides",
        )

    key: str | None = None
    hit: dict[str, str] | None = None
    if step.cache and cache_store is not None and artifact_store is not None:
        key, hit = lookup_cache(step, inputs, params, cache_store, artifact_store)
    if hit is not None:
        first = hit.get(step.outputs[0]) if step.outputs else None
        return finish(success=True, cached=True, outputs=hit, artifact_uri=first, cache_key=key)

    before = thread_snapshot()  # loading the inputs is part of what the step uses
    kwargs: dict[str, Any] = {}
    slots: Any = step.input_params.items()
    if step.varargs_inputs:
        slots = [*slots, *((a, _VARARGS + a) for a in step.varargs_inputs)]
    for artifact, param in slots:
        try:
            kwargs[param] = _resolve(inputs[artifact])
        except Exception as exc:  # whatever a materializer raised: a failed step, not a crash
            return finish(
                success=False,
                error=f"step '{step.name}': cannot load its input '{artifact}': {exc}",
                traceback=_format_exc(),
                # A stored artifact that is gone or unreadable: the orchestrator may
                # recompute it (when it came from the cache) and run this step again.
                lost_inputs=[artifact] if isinstance(exc, ArtifactError) else [],
            )
    kwargs.update(params)
    log = StepLog(echo=echo_logs, live=live_sink(run_id), name=step.name)
    attempt = 0
    ran = True
    while True:
        try:
            if helper_cpu is None:
                value = _call(step, kwargs, log)
            else:
                value = _call_with_timeout(step, kwargs, log, helper_cpu)
            named = split_outputs(step, value)
            break
        except StepTimeoutError as exc:
            if _retries_timeouts(step) and step.retry.should_retry(exc, attempt):
                attempt += 1
                time.sleep(step.retry.delay(attempt))
                continue
            return finish(
                success=False, error=str(exc), retries=attempt, logs=log.getvalue(), traceback=None
            )
        except (SystemExit, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt) and user_interrupted():
                raise  # the user's Ctrl-C (or SIGTERM): it stops the run, not just this step
            # Raised by the step's own code: the step fails; the caller keeps running.
            return finish(
                success=False,
                error=_exit_error(step, exc),
                traceback=_format_exc(),
                retries=attempt,
                logs=log.getvalue(),
            )
        except Exception as exc:
            if step.retry.should_retry(exc, attempt):
                attempt += 1
                time.sleep(step.retry.delay(attempt))
                continue
            return finish(
                success=False,
                error=f"{type(exc).__name__}: {exc}",
                traceback=_format_exc(),
                retries=attempt,
                logs=log.getvalue(),
            )

    outputs: dict[str, str] = {}
    refs: dict[str, dict[str, Any]] = {}
    if artifact_store is not None:
        try:
            for name, item in named.items():
                ref = artifact_store.save(item, what=f"output '{name}' of step '{step.name}'")
                outputs[name] = ref.uri
                if key is not None:  # what the cache index records
                    refs[name] = ref.to_dict()
        except (MaterializationError, ArtifactError, OSError) as exc:
            return finish(
                success=False,
                error=f"{type(exc).__name__}: {exc}",
                traceback=_format_exc(),
                retries=attempt,
                logs=log.getvalue(),
                cache_key=None,
            )
        if key is not None:
            cache_store.record(key, step.name, refs)  # type: ignore[union-attr]
    first_uri = outputs.get(step.outputs[0]) if step.outputs else None
    return finish(
        success=True,
        output=value,
        outputs=outputs,
        artifact_uri=first_uri,
        retries=attempt,
        logs=log.getvalue(),
        cache_key=key,
    )
