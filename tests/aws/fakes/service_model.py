"""Server-side checks of a request against botocore's own SageMaker service model.

botocore validates a request before sending it, but only types, required members and
minimums. The real service also enforces maximum lengths, patterns and enum values and
answers ``ValidationException`` with messages like::

    1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy
    constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}

These checks read every constraint from the model botocore ships
(``botocore/data/sagemaker/*/service-2.json``), so the limits are AWS's, not ours.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["check_request", "input_shape", "validation_message"]

_NOT_NULL = "Member must not be null"


@functools.cache
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def input_shape(operation: str) -> Any:
    """The botocore input shape of a SageMaker operation (e.g. ``CreateTrainingJob``)."""
    return _model().operation_model(operation).input_shape


@functools.cache
def _python_pattern(pattern: str) -> re.Pattern[str] | None:
    """The model's pattern as a Python regex, or None if it cannot be translated."""
    if r"\p{" in pattern:
        # Java's Unicode classes (tag keys and values) have no Python ``re`` equivalent:
        # approximate letters by Latin plus everything past U+00BF, numbers by digits.
        pattern = pattern.replace(r"\p{L}", "a-zA-Z\u00c0-\uffff")
        pattern = pattern.replace(r"\p{Z}", r"\s").replace(r"\p{N}", "0-9")
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a pattern Python cannot read is skipped, not guessed at


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _scalar_errors(shape: Any, value: Any, where: str) -> Iterator[str]:
    meta = shape.metadata
    head = f"Value '{_show(value)}' at '{where}' failed to satisfy constraint: Member must"
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{head} have length less than or equal to {meta['max']}"
        if "min" in meta and len(value) < meta["min"]:
            yield f"{head} have length greater than or equal to {meta['min']}"
        if shape.enum and value not in shape.enum:
            yield f"{head} satisfy enum value set: [{', '.join(shape.enum)}]"
        pattern = meta.get("pattern")
        compiled = _python_pattern(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            yield f"{head} satisfy regular expression pattern: ^{pattern}$"
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "max" in meta and value > meta["max"]:
            yield f"{head} have value less than or equal to {meta['max']}"
        if "min" in meta and value < meta["min"]:
            yield f"{head} have value greater than or equal to {meta['min']}"


def _errors(shape: Any, value: Any, where: str) -> Iterator[str]:
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for name in meta.get("required", []):
            if name not in value:
                path = f"{where}.{_camel(name)}" if where else _camel(name)
                yield f"Value null at '{path}' failed to satisfy constraint: {_NOT_NULL}"
        for name, member in shape.members.items():
            if name in value:
                path = f"{where}.{_camel(name)}" if where else _camel(name)
                yield from _errors(member, value[name], path)
    elif shape.type_name in ("list", "map") and isinstance(value, (list, dict)):
        head = f"Value '{_show(value)}' at '{where}' failed to satisfy constraint: Member must"
        if "max" in meta and len(value) > meta["max"]:
            yield f"{head} have length less than or equal to {meta['max']}"
        if "min" in meta and len(value) < meta["min"]:
            yield f"{head} have length greater than or equal to {meta['min']}"
        if isinstance(value, list):
            for index, item in enumerate(value, start=1):
                yield from _errors(shape.member, item, f"{where}.{index}.member")
        else:
            for key, item in value.items():
                yield from _errors(shape.key, key, f"{where}.key")
                yield from _errors(shape.value, item, f"{where}.{key}")
    else:
        yield from _scalar_errors(shape, value, where)


def check_request(operation: str, body: dict[str, Any]) -> list[str]:
    """Every constraint of the model that ``body`` breaks, in AWS's wording."""
    return list(_errors(input_shape(operation), body, ""))


def validation_message(errors: list[str]) -> str:
    """AWS's summary of several validation errors in one ``ValidationException``."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(errors)
