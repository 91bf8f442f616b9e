"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh project folder as the working directory, with no configuration (and no
    step durations remembered from other tests: see flowyml.execution.quick_groups)."""
    from flowyml.execution.quick_groups import quick_groups
    from flowyml.plugins.manager import reset_plugin_manager
    from flowyml.project.folder import forget_projects

    root = tmp_path / "project"
    root.mkdir()
    (root / "flowyml.yaml").write_text("")
    monkeypatch.chdir(root)
    for name in ("FLOWYML_BACKEND", "FLOWYML_CONFIG", "FLOWYML_PROJECT", "FLOWYML_STEP_RUNNER"):
        monkeypatch.delenv(name, raising=False)
    forget_projects()
    reset_plugin_manager()
    quick_groups.forget()
    yield root
    forget_projects()
    reset_plugin_manager()
