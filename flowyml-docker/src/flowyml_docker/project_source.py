"""The user's project as it goes into the image: its folder, its files, its fingerprint.

The project folder is the one the pipeline's module lives in (for a script, its
directory; for ``package.module``, the folder on ``sys.path`` it was imported from),
unless the ``project_dir`` setting names another. It is copied to the image's workdir,
which is on ``PYTHONPATH``, so a ``package.module:attr`` reference works unchanged
inside the container, and a script's absolute host path is translated to its place
under the workdir.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from flowyml.backend import ConfigError, PipelineDefinitionError

__all__ = ["ProjectSource", "locate_project"]

# Never part of the project's code: VCS data, caches, virtualenvs, build outputs, and
# the .flowyml folder (run store and artifacts).
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".flowyml",
        "__pycache__",
        ".venv",
        "venv",
        ".venvs",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
        "build",
        "dist",
    }
)
EXCLUDED_FILES = ("*.pyc", "*.pyo", "*.egg-info", ".DS_Store")


@dataclass(frozen=True)
class ProjectSource:
    """Where the project is on the host and how the container finds the pipeline.

    Attributes:
        host_dir: the project folder on the host.
        pipeline_ref: the pipeline's reference as the step runner in the image uses it.
        files: project-relative POSIX paths of the files copied into the image.
    """

    host_dir: Path
    pipeline_ref: str
    files: tuple[str, ...] = field(default=())

    def fingerprint(self) -> str:
        """SHA-256 over every file's path, executable bit and content."""
        digest = hashlib.sha256()
        for relative in self.files:
            path = self.host_dir / relative
            digest.update(relative.encode() + b"\0")
            digest.update(b"x" if os.access(path, os.X_OK) else b"-")
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digest.update(b"\0")
        return digest.hexdigest()


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.endswith(".egg-info"))
        base = Path(folder)
        for name in sorted(files):
            if any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED_FILES):
                continue
            path = base / name
            if path.is_file():
                yield path.relative_to(root).as_posix()


def _module_root(module_name: str) -> Path:
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not file:
        raise PipelineDefinitionError(
            f"module '{module_name}' has no file, so it cannot be copied into an image"
        )
    path = Path(file).resolve()
    depth = module_name.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth]


def locate_project(pipeline: Any, workdir: str, project_dir: str | None = None) -> ProjectSource:
    """Find the project of ``pipeline`` and the reference under which the image loads it.

    Args:
        pipeline: the pipeline (a module-level variable of a module or script).
        workdir: where the project is copied inside the image.
        project_dir: the project folder to copy instead of the module's own.

    Raises:
        PipelineDefinitionError: the pipeline is not importable by reference.
        ConfigError: ``project_dir`` does not contain the pipeline's file.
    """
    reference = pipeline.reference()
    if reference is None:
        raise PipelineDefinitionError(
            f"pipeline '{pipeline.name}' is not a module-level variable, so a container "
            "cannot import it; define it at the top level of a module or script"
        )
    target, _, attr = reference.rpartition(":")
    is_file = target.endswith(".py") or os.sep in target
    file = Path(target).resolve() if is_file else None
    root = Path(project_dir).resolve() if project_dir else None
    if root is None:
        root = file.parent if file is not None else _module_root(target)
    if not root.is_dir():
        raise ConfigError(f"project_dir {root} is not a folder")
    if file is None:
        container_ref = reference
    else:
        if not file.is_relative_to(root):
            raise ConfigError(
                f"the pipeline's file {file} is not inside project_dir {root}; set "
                "project_dir to a folder that contains it"
            )
        container_ref = f"{PurePosixPath(workdir) / file.relative_to(root).as_posix()}:{attr}"
    return ProjectSource(root, container_ref, tuple(_walk(root)))
