"""The parameters of a step's function, as ``inspect.signature`` gives them.

A step binds its inputs to its function's parameters when it is defined, so every import
of a pipeline's module (each step runner's start included) reads every step's signature.
``inspect.signature`` costs about 30 µs a function; for a plain function the same facts
come from its code object in a few, here. Anything else (a wrapped function, a partial, a
callable object, a builtin) goes through ``inspect.signature`` itself.
"""

from __future__ import annotations

import inspect
from types import FunctionType
from typing import Any

__all__ = ["Parameter", "parameters_of"]

# (name, kind, whether it has a default): what binding a step needs of each parameter.
Parameter = tuple[str, inspect._ParameterKind, bool]

_P = inspect.Parameter


def parameters_of(func: Any) -> list[Parameter] | None:
    """Each parameter of ``func``, in order; ``None`` when it has no signature."""
    if (
        type(func) is FunctionType
        and not hasattr(func, "__wrapped__")
        and not hasattr(func, "__signature__")
        and not hasattr(func, "_partialmethod")
    ):
        return _from_code(func)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    return [(p.name, p.kind, p.default is not p.empty) for p in signature.parameters.values()]


def _from_code(func: FunctionType) -> list[Parameter]:
    """What ``inspect.signature`` reads from a function, read the same way."""
    code = func.__code__
    names = code.co_varnames
    positional = code.co_argcount
    posonly = code.co_posonlyargcount
    keyword_only = code.co_kwonlyargcount
    with_default = positional - len(func.__defaults__ or ())
    found: list[Parameter] = [
        (
            names[i],
            _P.POSITIONAL_ONLY if i < posonly else _P.POSITIONAL_OR_KEYWORD,
            i >= with_default,
        )
        for i in range(positional)
    ]
    index = positional + keyword_only
    if code.co_flags & inspect.CO_VARARGS:
        found.append((names[index], _P.VAR_POSITIONAL, False))
        index += 1
    keyword_defaults = func.__kwdefaults__ or {}
    for name in names[positional : positional + keyword_only]:
        found.append((name, _P.KEYWORD_ONLY, name in keyword_defaults))
    if code.co_flags & inspect.CO_VARKEYWORDS:
        found.append((names[index], _P.VAR_KEYWORD, False))
    return found
