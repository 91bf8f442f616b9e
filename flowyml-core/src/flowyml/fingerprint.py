"""Code fingerprints: a stable hash of what a step's function does.

The fingerprint covers the function's source and, recursively, what it closes over or
reads from its module that can change its behaviour: user functions (not installed
libraries), and plain constants. Editing the body of a step, or of a helper it calls,
or a module-level constant it reads, changes the fingerprint; reformatting another
step does not.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import linecache
import sys
import sysconfig
import textwrap
import tokenize
import types
from typing import Any

__all__ = ["code_fingerprint", "stable_hash"]

_LIBRARY_PREFIXES = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)
_CONSTANT_TYPES = (int, float, str, bytes, bool, type(None), complex)


def stable_hash(*parts: str | bytes) -> str:
    """SHA-256 hex digest of the parts, each length-prefixed so boundaries count."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _is_user_code(func: types.FunctionType) -> bool:
    module = sys.modules.get(func.__module__ or "")
    path = getattr(module, "__file__", None) or func.__code__.co_filename
    if not path or path.startswith("<"):
        return True
    if func.__module__.split(".")[0] == "flowyml":
        return False
    return not path.startswith(_LIBRARY_PREFIXES)


@functools.lru_cache(maxsize=4096)
def _source_of_code(code: types.CodeType) -> str:
    # linecache + getblock rather than inspect.getsource: the latter first maps the code to
    # its module by scanning sys.modules, which costs ~20 ms on a first call.
    lines = linecache.getlines(code.co_filename)
    if lines and 0 < code.co_firstlineno <= len(lines):
        try:
            block = inspect.getblock(lines[code.co_firstlineno - 1 :])
            return textwrap.dedent("".join(block))
        except (IndexError, SyntaxError, tokenize.TokenError):
            pass  # unparsable source: the bytecode below identifies the function instead
    # No source on disk (REPL, exec): the bytecode and its constants stand in for it.
    return repr((code.co_code, code.co_consts, code.co_names))


def _source_of(func: types.FunctionType) -> str:
    return _source_of_code(func.__code__)


def _constant_repr(value: Any) -> str | None:
    if isinstance(value, _CONSTANT_TYPES):
        return repr(value)
    if isinstance(value, tuple | frozenset) and all(isinstance(v, _CONSTANT_TYPES) for v in value):
        return repr(sorted(value, key=repr) if isinstance(value, frozenset) else value)
    return None


@functools.lru_cache(maxsize=4096)
def _referenced_names(code: types.CodeType) -> frozenset[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _referenced_names(const)
    return frozenset(names)


_memo: dict[tuple[Any, ...], str] = {}


def _fingerprint(func: types.FunctionType, seen: set[int]) -> str:
    # Functions made by one factory share a code object; they differ only by what their
    # closure cells and globals hold, so those objects' identities key the memo (the
    # function keeps them alive, so the identities cannot be reused while it lives).
    names = _referenced_names(func.__code__)
    glob = func.__globals__
    key = (
        func.__code__,
        tuple(id(_cell_value(c)) for c in func.__closure__ or ()),
        tuple(id(glob.get(n)) for n in sorted(names)),
    )
    cached = _memo.get(key)
    if cached is None:
        cached = _memo[key] = _compute_fingerprint(func, seen)
    return cached


def _cell_value(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _compute_fingerprint(func: types.FunctionType, seen: set[int]) -> str:
    seen.add(id(func))
    parts: list[str] = [_source_of(func)]
    closure_names = func.__code__.co_freevars
    cells = func.__closure__ or ()
    dependencies: list[tuple[str, Any]] = []
    for name, cell in zip(closure_names, cells, strict=False):
        try:
            dependencies.append((name, cell.cell_contents))
        except ValueError:  # an empty cell (name assigned later): nothing to hash yet
            continue
    func_globals = func.__globals__
    for name in sorted(_referenced_names(func.__code__)):
        if name in func_globals:
            dependencies.append((name, func_globals[name]))
    for name, value in dependencies:
        target = getattr(value, "func", value)  # a Step wraps its function in `.func`
        if isinstance(target, types.FunctionType):
            if id(target) in seen or not _is_user_code(target):
                continue
            parts.append(f"{name}=fn:{_fingerprint(target, seen)}")
        else:
            const = _constant_repr(value)
            if const is not None:
                parts.append(f"{name}={const}")
    return stable_hash(*parts)


def code_fingerprint(func: Any) -> str:
    """The fingerprint of a function, as described in the module docstring."""
    target = inspect.unwrap(func)
    if not isinstance(target, types.FunctionType):
        return stable_hash(repr(type(target)), getattr(target, "__qualname__", repr(target)))
    return _fingerprint(target, set())
