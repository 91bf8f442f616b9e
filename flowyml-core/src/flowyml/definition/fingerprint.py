"""Code fingerprints: a stable hash of what a step's function does.

The fingerprint covers the function's source and, recursively, what it closes over or
reads from its module that can change its behaviour: user functions (not installed
libraries), and plain constants. Editing the body of a step, or of a helper it calls,
or a module-level constant it reads, changes the fingerprint; reformatting another
step does not.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import sys
import tokenize
import types
import weakref
from typing import Any

__all__ = ["code_fingerprint", "small_sha256", "stable_hash"]


@functools.cache
def _library_prefixes() -> tuple[str, ...]:
    # On first use: sysconfig and its data cost a step runner's start-up a few ms.
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple({paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")})


_CONSTANT_TYPES = (int, float, str, bytes, bool, type(None), complex)


def _small_sha256() -> Any:
    """SHA-256 for small inputs: CPython's own, when it has it, which spares every step
    runner's start the few milliseconds of loading OpenSSL. Large inputs should use
    ``hashlib`` (OpenSSL's is several times faster on them)."""
    try:
        import _sha256
    except ImportError:  # another interpreter or build (3.12 names it _sha2)
        import hashlib

        return hashlib.sha256
    return _sha256.sha256


small_sha256 = _small_sha256()


def stable_hash(*parts: str | bytes) -> str:
    """SHA-256 hex digest of the parts, each length-prefixed so boundaries count."""
    # Joined and hashed in one call, not two updates a part: cache keys hash several
    # parts once per step. The bytes hashed are the same.
    chunks: list[bytes] = []
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        chunks += (len(data).to_bytes(8, "little"), data)
    return small_sha256(b"".join(chunks)).hexdigest()  # type: ignore[no-any-return]


def _is_user_code(func: types.FunctionType) -> bool:
    module = sys.modules.get(func.__module__ or "")
    path = getattr(module, "__file__", None) or func.__code__.co_filename
    if not path or path.startswith("<"):
        return True
    if func.__module__.split(".")[0] == "flowyml":
        return False
    return not path.startswith(_library_prefixes())


@functools.lru_cache(maxsize=4096)
def _source_of_code(code: types.CodeType) -> str:
    # linecache + getblock rather than inspect.getsource: the latter first maps the code to
    # its module by scanning sys.modules, which costs ~20 ms on a first call.
    lines = linecache.getlines(code.co_filename)
    if lines and 0 < code.co_firstlineno <= len(lines):
        try:
            block = inspect.getblock(lines[code.co_firstlineno - 1 :])
            import textwrap  # only when a fingerprint is computed (caching on)

            return textwrap.dedent("".join(block))
        except (IndexError, SyntaxError, tokenize.TokenError):
            pass  # unparsable source: the bytecode below identifies the function instead
    # No source on disk (REPL, exec): the bytecode and its constants stand in for it.
    return repr((code.co_code, code.co_consts, code.co_names))


def _constant_repr(value: Any) -> str | None:
    if isinstance(value, _CONSTANT_TYPES):
        return repr(value)
    if isinstance(value, tuple | frozenset) and all(isinstance(v, _CONSTANT_TYPES) for v in value):
        return repr(sorted(value, key=repr) if isinstance(value, frozenset) else value)
    return None


def _default_repr(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return f"{value[0]}={_default_repr(value[1])}"  # a keyword-only default
    const = _constant_repr(value)
    if const is not None:
        return const
    # Anything else is identified by its type: its state is not part of the fingerprint,
    # as for the other non-constant values a step reads.
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


@functools.lru_cache(maxsize=4096)
def _referenced_names(code: types.CodeType) -> frozenset[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _referenced_names(const)
    return frozenset(names)


_MISSING = object()


class _Snapshot:
    """What a fingerprint was computed from, held by identity.

    Holding the objects themselves (not their ``id()``) means an identity can never be
    reused by another object while the snapshot lives, so ``is`` comparisons are exact.
    """

    __slots__ = ("attributes", "cells", "names")

    def __init__(self) -> None:
        self.names: list[tuple[dict[str, Any], str, Any]] = []
        self.cells: list[tuple[types.CellType, Any]] = []
        self.attributes: list[tuple[Any, str, Any]] = []

    def still_holds(self) -> bool:
        for namespace, name, value in self.names:
            if namespace.get(name, _MISSING) is not value:
                return False
        for cell, value in self.cells:
            if _cell_value(cell) is not value:
                return False
        for owner, attribute, value in self.attributes:
            if getattr(owner, attribute, _MISSING) is not value:
                return False
        return True


# Function -> (snapshot of everything its fingerprint read, fingerprint). Weak keys: an
# entry lives exactly as long as its function, and a hit is only taken after checking
# that every global, closure cell and code object read is still the same object.
_memo: weakref.WeakKeyDictionary[types.FunctionType, tuple[_Snapshot, str]] = (
    weakref.WeakKeyDictionary()
)


def _cell_value(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell (name assigned later)
        return _MISSING


def _compute_fingerprint(
    func: types.FunctionType, seen: dict[int, str | None], snapshot: _Snapshot
) -> str:
    seen[id(func)] = None  # in progress: a recursive reference is cut here
    code = func.__code__
    snapshot.attributes.append((func, "__code__", code))
    parts: list[str] = [_source_of_code(code)]
    # Default values are evaluated once, when `def` runs: `def s(k=THRESH)` does not read
    # THRESH when called, and its source does not change when THRESH does.
    defaults = func.__defaults__
    kwdefaults = func.__kwdefaults__
    snapshot.attributes.append((func, "__defaults__", defaults))
    snapshot.attributes.append((func, "__kwdefaults__", kwdefaults))
    if defaults or kwdefaults:
        named = [*(defaults or ()), *sorted((kwdefaults or {}).items())]
        parts.append("defaults=" + repr([_default_repr(value) for value in named]))
    dependencies: list[tuple[str, Any]] = []
    for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        value = _cell_value(cell)
        snapshot.cells.append((cell, value))
        if value is not _MISSING:
            dependencies.append((name, value))
    func_globals = func.__globals__
    for name in sorted(_referenced_names(code)):
        value = func_globals.get(name, _MISSING)
        snapshot.names.append((func_globals, name, value))
        if value is not _MISSING:
            dependencies.append((name, value))
    for name, value in dependencies:
        target = getattr(value, "func", value)  # a Step wraps its function in `.func`
        if target is not value:
            snapshot.attributes.append((value, "func", target))
        if isinstance(target, types.FunctionType):
            if not _is_user_code(target):
                continue
            if id(target) in seen:
                nested = seen[id(target)]
                if nested is None:  # a cycle back to a function being fingerprinted
                    continue
            else:
                nested = _compute_fingerprint(target, seen, snapshot)
            parts.append(f"{name}=fn:{nested}")
        else:
            const = _constant_repr(value)
            if const is not None:
                parts.append(f"{name}={const}")
    fingerprint = stable_hash(*parts)
    seen[id(func)] = fingerprint
    return fingerprint


def code_fingerprint(func: Any) -> str:
    """The fingerprint of a function, as described in the module docstring.

    Computed once per function and reused while every object it was computed from is
    still in place: rebinding a global or closure variable the function (or a helper it
    calls) reads, or swapping its code, makes the next call compute it afresh.
    """
    # A plain function (no __wrapped__) unwraps to itself: asked once per step.
    plain = type(func) is types.FunctionType and "__wrapped__" not in func.__dict__
    target = func if plain else inspect.unwrap(func)
    if not isinstance(target, types.FunctionType):
        return stable_hash(repr(type(target)), getattr(target, "__qualname__", repr(target)))
    entry = _memo.get(target)
    if entry is not None and entry[0].still_holds():
        return entry[1]
    snapshot = _Snapshot()
    fingerprint = _compute_fingerprint(target, {}, snapshot)
    _memo[target] = (snapshot, fingerprint)
    return fingerprint
