"""The pipeline's module, imported once by a fork server so that its steps inherit it.

A step runner imports the module its steps come from (``MODULE:ATTR`` or ``FILE:ATTR``,
see ``Step.reference``) before it runs them: ``import numpy`` at the top of a pipeline
file costs every step that import again. A fork server that imports the module *before*
forking hands it to every child for free. That is safe only while the child runs what a
fresh interpreter importing the module now would run, so a server records the identity
(inode, size, modification and change times, in nanoseconds) of every file the import
read, and the importable names of every folder of the import path, and a server whose
files changed is never used again (see :class:`Preload`): an edited pipeline file, a
helper module it imports, an upgraded package or a new module that an import would now
find starts a fresh server that imports the new code. (Python's own check of a cached
``.pyc`` against its source is coarser: size and whole seconds.)

The module is imported the way the step runner imports it (under the same canonical name,
with ``FLOWYML_STEP_RUNNER`` set, so a ``pipeline.run()`` without a ``__main__`` guard
raises instead of recursing). An import that fails is not cached: the server goes on
without the module, and each child imports it again itself, failing (or not) as a fresh
interpreter would.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = [
    "Preload",
    "import_in_child",
    "import_module_target",
    "module_targets",
    "preload_modules",
]

#: Set while a step runner imports a pipeline's module: ``Pipeline.run`` then refuses to
#: start a run (a pipeline file calling ``pipeline.run()`` without a ``__main__`` guard).
STEP_RUNNER_ENV = "FLOWYML_STEP_RUNNER"
# The step runner's canonical module name of a file imported by path (the core's
# ``definition.references.file_module_name``): the child finds the server's module under
# it, or imports a second copy (slower, never wrong).
_FILE_MODULE_PREFIX = "flowyml_file_"

Identity = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


def module_targets(references: Iterable[str]) -> tuple[str, ...]:
    """The modules or files that ``MODULE:ATTR`` / ``FILE:ATTR`` references name, sorted."""
    return tuple(sorted({ref.rpartition(":")[0] for ref in references if ":" in ref}))


def _is_file(target: str) -> bool:
    return target.endswith(".py") or os.sep in target  # the step runner's own rule


def _file_module_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return _FILE_MODULE_PREFIX + stem.replace("-", "_").replace(".", "_")


def import_module_target(target: str) -> ModuleType:
    """Import a reference's module (or file) as the step runner does, or return it if this
    process imported it already (a child of a server that preloaded it)."""
    if not _is_file(target):
        return importlib.import_module(target)
    path = os.path.abspath(target)
    name = _file_module_name(path)
    existing = sys.modules.get(name)
    existing_file = getattr(existing, "__file__", None)
    if existing is not None and existing_file and os.path.abspath(existing_file) == path:
        return existing
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{target} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _identity(path: str) -> Identity | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _importable_names(folder: str) -> list[str]:
    """What an import could find in ``folder``: modules, extensions, and folders (any
    folder is a package, a namespace one at least). Other files do not count, so a step
    writing its outputs next to the pipeline file does not make the server stale."""
    try:
        with os.scandir(folder) as entries:
            return sorted(
                e.name
                for e in entries
                if e.name.endswith(_MODULE_SUFFIXES)
                or (e.is_dir() and not e.name.startswith(".") and e.name != "__pycache__")
            )
    except OSError:
        return []


_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pth")


@dataclass
class Preload:
    """What a fork server imported before forking, and how to tell that it went stale.

    Attributes:
        targets: the modules or files the server imports (empty: flowyml only).
        files: every file the import read, with its identity when the server looked at it
            (``None``: it did not exist).
        folders: every folder of the import path and each pipeline file's folder, with
            its identity and the importable names it held: a module that appears there
            could change what a fresh import finds.
        error: why importing the targets failed (the children then import them).
        forkable: ``False`` when the import started threads: a forked child would lack
            them (and any lock they held), so the server must not fork from this state.
    """

    targets: tuple[str, ...]
    files: dict[str, Identity | None] = field(default_factory=dict)
    folders: dict[str, tuple[Identity | None, list[str]]] = field(default_factory=dict)
    error: str | None = None
    forkable: bool = True

    def watch_folder(self, folder: str) -> None:
        """Record ``folder`` as it is now (before the import looks into it)."""
        folder = os.path.abspath(folder)
        if folder not in self.folders and os.path.isdir(folder):
            self.folders[folder] = (_identity(folder), _importable_names(folder))

    def changed(self) -> str | None:
        """The first file or folder that is no longer what the server imported, or ``None``.

        A file counts as changed when its identity does; a folder when the importable
        names in it do (a folder whose other entries changed is noted, and stays fresh).
        """
        for path, identity in self.files.items():
            if _identity(path) != identity:
                return path
        for folder, (identity, names) in self.folders.items():
            now = _identity(folder)
            if now == identity:
                continue
            if _importable_names(folder) != names:
                return folder
            self.folders[folder] = (now, names)
        return None

    def to_json(self) -> dict[str, Any]:
        """The server's report, as sent to the client."""
        return {
            "targets": list(self.targets),
            "files": self.files,
            "folders": self.folders,
            "error": self.error,
            "forkable": self.forkable,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preload:
        """The report the server sent."""

        def identity(value: list[int] | None) -> Identity | None:
            return None if value is None else (value[0], value[1], value[2], value[3])

        return cls(
            targets=tuple(data["targets"]),
            files={path: identity(value) for path, value in data["files"].items()},
            folders={
                path: (identity(value), list(names))
                for path, (value, names) in data["folders"].items()
            },
            error=data["error"],
            forkable=data["forkable"],
        )


def preload_modules(targets: tuple[str, ...]) -> Preload:
    """Import ``targets`` in this process (a fork server, before it forks anything).

    Returns:
        What was imported and the identity of every file and folder it came from;
        ``error`` says why the import failed, or why its result cannot be forked.
    """
    report = Preload(targets)
    if not targets:
        return report
    os.environ[STEP_RUNNER_ENV] = "1"
    before = set(sys.modules)
    # Looked at before the import reads them: an edit made while it runs is a change.
    for target in targets:
        if _is_file(target):
            report.watch_folder(os.path.dirname(os.path.abspath(target)))
            report.files[os.path.abspath(target)] = _identity(target)
    for entry in sys.path:
        report.watch_folder(entry or os.curdir)
    try:
        for target in targets:
            import_module_target(target)
    except BaseException as exc:  # anything the module raises: its children retry it
        if isinstance(exc, KeyboardInterrupt):
            raise
        report.error = _failure(target, exc)
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str) and file not in report.files:
            report.files[file] = _identity(file)
    for entry in sys.path:  # what the import added to the path
        report.watch_folder(entry or os.curdir)
    # A thread started by the import would be missing from every forked child, with
    # whatever locks it held: such a module must be imported by each child itself.
    report.forkable = threading.active_count() == 1
    return report


def _failure(target: str, exc: BaseException) -> str:
    """One line naming the module and what it raised."""
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"could not import its module {target}: {last}"


def import_in_child(targets: tuple[str, ...]) -> str | None:
    """In a forked child: import what the server could not; why it failed, or ``None``.

    The traceback goes to the child's output (the step's log); the returned line names
    the module and the error.
    """
    os.environ[STEP_RUNNER_ENV] = "1"
    for target in targets:
        try:
            import_module_target(target)
        except Exception as exc:
            traceback.print_exc()
            return _failure(target, exc)
    return None
