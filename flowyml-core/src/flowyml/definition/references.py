"""``MODULE:ATTR`` / ``FILE:ATTR`` references: how another process finds a pipeline or step.

A pipeline file is imported under one *canonical* module name in every process, so that
what one process pickles another can load:

- a file imported by path (``flowyml run pipe.py``, a step runner's ``FILE:ATTR``) is
  the module ``flowyml_file_<stem>``;
- a script run as ``python pipe.py`` is ``__main__``, and is registered in
  ``sys.modules`` under that same ``flowyml_file_<stem>``;
- a module run as ``python -m package.pipe`` keeps its importable name,
  ``package.pipe``, and other processes import it by that name.

The name depends only on the file, never on ``sys.path``, which differs between a
script, the ``flowyml`` command and a child process.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from flowyml.errors import PipelineDefinitionError

__all__ = [
    "file_module_name",
    "import_pipeline_global",
    "import_pipeline_module",
    "is_file_module",
    "load_module_from_path",
    "load_reference",
    "main_module_as",
    "main_module_name",
    "reference_of",
]

_FILE_MODULE_PREFIX = "flowyml_file_"


def file_module_name(path: str) -> str:
    """The module name of a Python file imported by path: ``flowyml_file_<stem>``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return _FILE_MODULE_PREFIX + stem.replace("-", "_").replace(".", "_")


def is_file_module(module_name: str) -> bool:
    """Whether ``module_name`` names a file imported by path (see :func:`file_module_name`)."""
    return module_name.startswith(_FILE_MODULE_PREFIX)


def _main_file() -> str | None:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if not isinstance(file, str) or not file or file.startswith("<"):
        return None  # an interactive session, `python -c`, a notebook
    return os.path.abspath(file)


def main_module_name() -> str | None:
    """The canonical name of the script running as ``__main__``, or ``None`` without one.

    ``__main__`` is registered in ``sys.modules`` under that name as well, so that values
    pickled under it by another process load into this script's own classes.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if isinstance(spec_name, str) and spec_name and spec_name != "__main__":
        name = spec_name  # python -m package.module: importable under its own name
    else:
        file = _main_file()
        if file is None:
            return None
        name = file_module_name(file)
    sys.modules.setdefault(name, main)
    return name


def reference_of(obj: object, module_name: str | None, file: str | None) -> str | None:
    """The reference of a module-level object, or ``None`` when it is not one.

    Objects of a script run as ``__main__`` are referenced by file path (by module name
    when it was run with ``python -m``).
    """
    module = sys.modules.get(module_name or "")
    if module is None:
        return None
    attr = next((k for k, v in vars(module).items() if v is obj), None)
    if attr is None:
        return None
    if module_name == "__main__":
        canonical = main_module_name()
        if canonical is not None and not is_file_module(canonical):
            return f"{canonical}:{attr}"
    if module_name == "__main__" or is_file_module(module_name or ""):
        if not file or file.startswith("<"):
            return None
        return f"{os.path.abspath(file)}:{attr}"
    return f"{module_name}:{attr}"


def load_module_from_path(path: str) -> Any:
    """Import a Python file as a module (not as ``__main__``, so its guard stays shut).

    The module is named ``flowyml_file_<stem>``. When the file is the script running as
    ``__main__``, that module is returned instead of a second copy of it.

    Raises:
        PipelineDefinitionError: the file does not exist or is not a Python module.
    """
    absolute = os.path.abspath(path)
    if not os.path.isfile(absolute):
        raise PipelineDefinitionError(f"no such file: {path}")
    name = file_module_name(absolute)
    existing = sys.modules.get(name)
    existing_file = getattr(existing, "__file__", None)
    if existing_file and os.path.abspath(existing_file) == absolute:
        return existing
    if _main_file() == absolute:
        main = sys.modules["__main__"]
        sys.modules[name] = main
        return main
    spec = importlib.util.spec_from_file_location(name, absolute)
    if spec is None or spec.loader is None:
        raise PipelineDefinitionError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = os.path.dirname(absolute)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise PipelineDefinitionError(_import_failure(path, exc)) from exc
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_failure(path: str, exc: Exception) -> str:
    """What went wrong importing a pipeline file, in the user's terms: the file and line
    of a syntax error, or the user's own frames of an error raised while importing."""
    import traceback

    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        where = f"{path}:{exc.lineno}"
        line = (exc.text or "").strip()
        shown = f"\n    {line}" if line else ""
        return f"{where}: {exc.msg}{shown}"
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<frozen")
        and os.path.dirname(os.path.abspath(__file__)) not in frame.filename
    ]
    lines = "".join(traceback.format_list(frames)).rstrip()
    return f"importing {path} failed: {type(exc).__name__}: {exc}" + (f"\n{lines}" if lines else "")


def main_module_as(module_name: str, path: str | None = None) -> ModuleType | None:
    """``__main__`` when the module ``module_name`` is the script running as ``__main__``.

    It is when the name is one of the script's canonical names, when ``path`` is its file,
    or when importing ``module_name`` would execute its file a second time (``python
    pipe.py`` reading what ``python -m pipe`` wrote). ``__main__`` is then registered in
    ``sys.modules`` under ``module_name`` too.

    Args:
        module_name: a module name that is not imported yet.
        path: the module's file where the name was recorded, if known.
    """
    main_file = _main_file()
    if main_file is None:
        return None
    same = module_name in (main_module_name(), file_module_name(main_file))
    if not same and path is not None:
        same = os.path.abspath(path) == main_file
    if not same and not is_file_module(module_name):
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            spec = None  # not importable here at all: certainly not this script
        origin = getattr(spec, "origin", None)
        same = origin is not None and os.path.abspath(origin) == main_file
    if not same:
        return None
    main = sys.modules["__main__"]
    sys.modules[module_name] = main
    return main


def import_pipeline_module(module_name: str, path: str | None = None) -> ModuleType:
    """The module of a pipeline file by its canonical name, importing it if need be.

    A module already imported under that name wins; so does the script running as
    ``__main__`` when it is that file (by name, or by path: ``python -m pipe`` and
    ``python pipe.py`` name the same file differently). Otherwise a ``flowyml_file_*``
    module is imported from ``path`` and any other name the usual way.

    Args:
        module_name: the canonical name (see the module docstring).
        path: where the file was when the name was recorded, if known.

    Raises:
        ModuleNotFoundError: the module is not imported and cannot be imported here.
    """
    module = sys.modules.get(module_name) or main_module_as(module_name, path)
    if module is not None:
        return module
    if path is not None:
        loaded = sys.modules.get(file_module_name(path))
        loaded_file = getattr(loaded, "__file__", None)
        if loaded is not None and loaded_file and os.path.abspath(loaded_file) == path:
            return loaded  # the same file, imported by path (by `flowyml run`)
    if not is_file_module(module_name):
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Not importable here (its folder is not on sys.path): fall back to its file.
            missing = exc.name or ""
            if not (module_name + ".").startswith(missing + ".") or path is None:
                raise
            if not os.path.isfile(path):
                raise
    if path is None or not os.path.isfile(path):
        where = f"its file {path} does not exist here" if path else "its file is unknown"
        raise ModuleNotFoundError(
            f"no module '{module_name}' is loaded and {where}", name=module_name
        )
    imported: ModuleType = load_module_from_path(path)
    return imported


def import_pipeline_global(module_name: str, path: str | None, qualname: str) -> Any:
    """The class or function ``qualname`` of a pipeline file (see the module docstring).

    Artifacts pickle a pipeline file's classes and functions as a call of this function,
    so that they load under the file's canonical name in every process.

    Raises:
        ModuleNotFoundError: the file's module cannot be imported here.
        AttributeError: the module has no ``qualname`` (it was renamed or removed).
    """
    found: Any = import_pipeline_module(module_name, path)
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise AttributeError(
                f"module '{module_name}' ({path}) has no attribute '{qualname}'"
            ) from None
    return found


def load_reference(reference: str) -> Any:
    """Import what ``MODULE:ATTR`` or ``FILE:ATTR`` names.

    Raises:
        PipelineDefinitionError: the module, file or attribute does not exist.
    """
    target, sep, attr = reference.rpartition(":")
    if not sep or not target or not attr:
        raise PipelineDefinitionError(
            f"reference {reference!r} must look like 'package.module:name' or 'path/file.py:name'"
        )
    if target.endswith(".py") or os.sep in target:
        module = load_module_from_path(target)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise PipelineDefinitionError(f"cannot import module '{target}': {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise PipelineDefinitionError(f"'{target}' has no attribute '{attr}'") from None
