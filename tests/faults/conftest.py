"""Fixtures of the fault suite: a project, a backend, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_process import FlowymlCli
from polling import wait_for

PIPELINES = Path(__file__).resolve().parent / "fault_pipelines.py"


@pytest.fixture(params=["local", "subprocess"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each in-process and process-isolated backend."""
    return str(request.param)


@pytest.fixture
def pids(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where steps write their process ids (see fault_pipelines._note_pid)."""
    folder = project / "pids"
    monkeypatch.setenv("FLOWYML_FAULTS_PIDS", str(folder))
    return folder


class Cli(FlowymlCli):
    """The CLI in the test project, with a shortcut for the fault pipelines."""

    def run_pipeline(
        self, name: str, backend: str, *params: str, extra: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        args = [f"{PIPELINES}:{name}", "--backend", backend, "--quiet", *extra]
        for item in params:
            args += ["-p", item]
        return self.run("run", *args)


@pytest.fixture
def cli(project: Path) -> Iterator[Cli]:
    """The CLI; a test that fails midway leaves none of its processes behind."""
    runner = Cli(project)
    yield runner
    runner.stop_all()


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def assert_no_step_left(pids: Path) -> None:
    """Every step process that noted its pid has ended (within a few seconds)."""
    noted = [int(p.read_text()) for p in pids.glob("*")] if pids.exists() else []
    for pid in noted:
        if pid == os.getpid():
            continue
        wait_for(lambda pid=pid: not alive(pid), 10, f"step process {pid} to end")


def assert_artifacts_load(record: Any) -> None:
    """Every artifact the run recorded still loads (no half-written artifact)."""
    from flowyml.records.artifact_ref import ArtifactRef

    for item in record.steps:
        for ref in item.outputs.values():
            ArtifactRef(ref["uri"], "", 0).load()
