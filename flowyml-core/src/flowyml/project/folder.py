"""A project: its configuration, its ``.flowyml`` folder, run store, cache and artifacts."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

# Imported with the project, not on first use: it also installs the resolver through which
# an artifact reference read without its store (``get_run(...).outputs``) finds it.
from flowyml.plugins.manager import get_plugin_manager, release_crashed_run
from flowyml.project.config import ProjectConfig, StackConfig, find_project_root, load_config
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.cache import CacheStore
from flowyml.storage.database import Database
from flowyml.storage.run_store import RunStore

__all__ = ["Project", "open_project"]


class Project:
    """Everything a run needs from the project folder, opened lazily."""

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config
        self.home = (root / config.home).resolve()

    @cached_property
    def db(self) -> Database:
        """The project's SQLite database."""
        return Database(self.home / "flowyml.db")

    @cached_property
    def run_store(self) -> RunStore:
        """Run records; a run found crashed is reported to the plugins, whose backends
        release what it left behind (containers, cloud jobs)."""
        return RunStore(self.db, on_crashed=release_crashed_run)

    @cached_property
    def cache_store(self) -> CacheStore:
        """The cache index."""
        return CacheStore(self.db)

    def artifact_store(self, stack: StackConfig | None = None) -> ArtifactStore:
        """The artifact store of a stack (default: ``.flowyml/artifacts``).

        The project's database commits what the store buffers before each of its own
        batches, so no run or cache record can point at an artifact a crash then loses.
        """
        uri = stack.artifact_store if stack and stack.artifact_store else None
        if uri is None:
            store = self._default_artifact_store
        else:
            store = get_plugin_manager().artifact_store_for(uri)
        if store.flush not in self.db.commit_first:
            self.db.commit_first.append(store.flush)
        return store

    @cached_property
    def _default_artifact_store(self) -> ArtifactStore:
        return get_plugin_manager().artifact_store_for((self.home / "artifacts").as_uri())


_projects: dict[Path, Project] = {}
_lock = threading.Lock()


def open_project(start: Path | None = None) -> Project:
    """The project containing ``start`` (default: the working directory), opened once."""
    root = find_project_root(start)
    with _lock:
        project = _projects.get(root)
        if project is None:
            project = Project(root, load_config(root))
            _projects[root] = project
        return project


def forget_projects() -> None:
    """Close and forget every opened project (tests switch folders)."""
    with _lock:
        for project in _projects.values():
            if "db" in project.__dict__:
                project.db.close()
        _projects.clear()
