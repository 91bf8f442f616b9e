"""A step reads its function's parameters as inspect.signature does, whatever their shape."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flowyml.definition.signatures import parameters_of


def _by_inspect(func: Any) -> list[tuple[str, Any, bool]]:
    params = inspect.signature(func).parameters.values()
    return [(p.name, p.kind, p.default is not p.empty) for p in params]


@st.composite
def function_sources(draw: st.DrawFn) -> str:
    """The source of a function with any mix of parameter kinds and defaults."""
    names = iter(f"p{i}" for i in range(40))
    posonly = draw(st.integers(0, 3))
    regular = draw(st.integers(0, 3))
    defaults = draw(st.integers(0, posonly + regular))  # trailing positional defaults
    parts = []
    for i in range(posonly + regular):
        default = "=1" if i >= posonly + regular - defaults else ""
        parts.append(
            f"{next(names)}: int{default}" if draw(st.booleans()) else next(names) + default
        )
        if i == posonly - 1:
            parts.append("/")
    varargs = draw(st.booleans())
    keyword_only = draw(st.lists(st.booleans(), max_size=3))  # each: has a default
    if varargs:
        parts.append("*" + next(names))
    elif keyword_only:
        parts.append("*")
    parts += [next(names) + ("=2" if default else "") for default in keyword_only]
    if draw(st.booleans()):
        parts.append("**" + next(names))
    local = "    x = 1\n" * draw(st.integers(0, 2))  # locals after the parameters
    return f"def f({', '.join(parts)}):\n{local}    return None\n"


@given(function_sources())
def test_a_plain_function_reads_as_inspect_reads_it(source: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    assert parameters_of(namespace["f"]) == _by_inspect(namespace["f"]), source


def _plain(a: int, b: int = 1, *rest: int, c: int, d: int = 2, **more: int) -> None:
    return None


@functools.wraps(_plain)
def _wrapped(*args: Any, **kwargs: Any) -> None:
    return None


class _Callable:
    def __call__(self, x: int, y: int = 3) -> None:
        return None

    def method(self, x: int, *, z: int) -> None:
        return None


def test_other_callables_read_as_inspect_reads_them() -> None:
    for func in (
        _plain,
        _wrapped,  # the wrapped function's parameters, as inspect follows __wrapped__
        functools.partial(_plain, 1),
        _Callable(),
        _Callable().method,
        lambda x, y=1: None,
        len,
    ):
        assert parameters_of(func) == _by_inspect(func), func


def test_a_callable_without_a_signature_has_none() -> None:
    for func in (iter, max, getattr):
        assert parameters_of(func) is None, func  # inspect.signature raises ValueError
