"""Checking run parameters against the steps that read them, before anything runs.

A misspelled ``-p`` key, an override naming no step or no parameter of its step, and a
value of the wrong type are reported as a :class:`~flowyml.errors.PipelineDefinitionError`
naming the key (with the closest valid name) or the step, parameter, value and expected
type. Values are coerced to the annotated type where pydantic's lax mode allows it
(``"5"`` for an ``int``), per step.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from flowyml.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from flowyml.definition.context import Context
    from flowyml.definition.steps import Step

__all__ = [
    "check_overrides",
    "check_parameter_names",
    "coerce_parameters",
    "effective_parameters",
]


def _suggest(name: str, candidates: Iterable[str]) -> str:
    import difflib  # only when a name is wrong

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _readers(steps: Sequence[Step]) -> dict[str, list[str]]:
    """Parameter name -> the steps whose function or condition reads it."""
    readers: dict[str, list[str]] = {}
    for item in steps:
        for name in (*item.context_params, *item.condition_params):
            readers.setdefault(name, []).append(item.name)
    return readers


def check_parameter_names(keys: Iterable[str], steps: Sequence[Step], pipeline: str) -> None:
    """Every key must be a parameter some step (or condition) reads.

    Raises:
        PipelineDefinitionError: naming the first unknown key and the closest known one.
    """
    readers = _readers(steps)
    for key in keys:
        if key not in readers:
            known = ", ".join(sorted(readers)) or "none"
            raise PipelineDefinitionError(
                f"parameter '{key}': no step of pipeline '{pipeline}' takes it"
                f"{_suggest(key, readers)} (parameters: {known})"
            )


def check_overrides(context: Context, steps: Sequence[Step]) -> None:
    """Each per-step override must name a step and parameters that step reads.

    Raises:
        PipelineDefinitionError: naming the unknown step or parameter, with a suggestion.
    """
    overrides = context.to_dict()["overrides"]
    if not overrides:
        return
    by_name = {item.name: item for item in steps}
    for step_name, params in overrides.items():
        target = by_name.get(step_name)
        if target is None:
            raise PipelineDefinitionError(
                f"override for step '{step_name}': there is no such step"
                f"{_suggest(step_name, by_name)} (steps: {', '.join(by_name)})"
            )
        accepted = [*target.context_params, *target.condition_params]
        for key in params:
            if key not in accepted:
                raise PipelineDefinitionError(
                    f"override of step '{step_name}': it has no parameter '{key}'"
                    f"{_suggest(key, accepted)} (its parameters: {', '.join(accepted) or 'none'})"
                )


@functools.lru_cache(maxsize=512)
def _adapter(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _annotations(item: Step) -> dict[str, Any]:
    return _hints(item.func)


@functools.lru_cache(maxsize=1024)
def _hints(func: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:  # names the annotations use are not importable here: nothing to check
        return {}


def _is_plain_data(value: Any) -> bool:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def coerce_parameters(context: Context, steps: Sequence[Step]) -> Context:
    """The context with each value a step reads checked against that step's annotation,
    and coerced to it where the value differs (as a per-step override).

    Raises:
        PipelineDefinitionError: naming step, parameter, value and expected type.
    """
    from pydantic import ValidationError

    coerced: dict[str, dict[str, Any]] = {}
    for item in steps:
        if not item.context_params:
            continue
        hints = _annotations(item)
        params = context.for_step(item.name)
        for name in item.context_params:
            annotation = hints.get(name)
            if annotation is None or name not in params:
                continue
            value = params[name]
            try:
                adapter = _adapter(annotation)
            except Exception:  # an annotation pydantic cannot check (a bare class, ...)
                continue
            try:
                checked = adapter.validate_python(value)
            except ValidationError as exc:
                expected = getattr(annotation, "__name__", None) or str(annotation)
                reason = exc.errors()[0]["msg"] if exc.errors() else str(exc)
                raise PipelineDefinitionError(
                    f"step '{item.name}': parameter '{name}' = {value!r} is not a valid "
                    f"{expected} ({reason})"
                ) from None
            # Equal values (5 for a float) are left alone: their cache keys stay the same.
            if checked != value and _is_plain_data(checked):
                coerced.setdefault(item.name, {})[name] = checked
    if not coerced:
        return context
    result = context.updated()
    for step_name, params in coerced.items():
        result.override(step_name, **params)
    return result


def effective_parameters(context: Context, steps: Sequence[Step]) -> dict[str, dict[str, Any]]:
    """Step -> parameter -> ``{"value", "from"}``: what each step reads and where it comes
    from (``override``, ``run`` or the function's ``default``); an override that shadows a
    run value also gives that value as ``shadows``. Steps that read no parameter are left
    out."""
    import inspect

    data = context.to_dict()
    run_params, overrides = data["params"], data["overrides"]
    effective: dict[str, dict[str, Any]] = {}
    for item in steps:
        if not item.context_params:
            continue
        own = overrides.get(item.name, {})
        entries: dict[str, Any] = {}
        for name in item.context_params:
            if name in own:
                entry = {"value": own[name], "from": "override"}
                if name in run_params:
                    entry["shadows"] = run_params[name]
            elif name in run_params:
                entry = {"value": run_params[name], "from": "run"}
            else:
                default = inspect.signature(item.func).parameters[name].default
                if default is inspect.Parameter.empty or not _is_plain_data(default):
                    continue
                entry = {"value": default, "from": "default"}
            entries[name] = entry
        if entries:
            effective[item.name] = entries
    return effective
