"""`--plan` on dask: tasks, their worker resources and the cached steps, known without
reaching the cluster; the run that follows agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plan_pipelines
import pytest
from cli_process import FlowymlCli
from conftest import DaskCluster

PIPELINE = f"{Path(plan_pipelines.__file__)}:summed"


@pytest.fixture
def dask_project(project: Path, dask_cluster: DaskCluster) -> Path:
    from flowyml.project.folder import forget_projects

    (project / "flowyml.yaml").write_text(
        "stacks:\n"
        "  dask:\n"
        "    backend: dask\n"
        f"    settings: {{address: '{dask_cluster.address}'}}\n"
        "  unreachable:\n"
        "    backend: dask\n"
        "    settings: {address: 'tcp://127.0.0.1:9', connect_timeout: 1}\n"
    )
    forget_projects()
    return project


def _plan(project: Path, stack: str = "dask") -> dict[str, Any]:
    done = FlowymlCli(project).run("run", PIPELINE, "-b", stack, "--plan", "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_plan_needs_no_cluster(dask_project: Path) -> None:
    plan = _plan(dask_project, "unreachable")  # nothing listens there: nothing is reached
    assert plan["backend"] == "dask" and plan["jobs"] == 2
    assert plan["image"] is None and plan["image_action"] == "none"
    assert plan["details"]["scheduler"] == "tcp://127.0.0.1:9"
    total = next(g for g in plan["groups"] if g["name"] == "total")
    assert total["details"]["dask_resources"] == {"GPU": 1.0}  # the gpu worker advertises it
    assert "no price catalog for dask" in plan["cost_unknown_because"][0]


def test_the_run_agrees_with_the_plan(dask_project: Path) -> None:
    first = _plan(dask_project)
    assert [g["steps"] for g in first["groups"]] == [["numbers"], ["total"]]
    assert first["cached_steps"] == []
    ran = FlowymlCli(dask_project).run("run", PIPELINE, "-b", "dask", "-q")
    assert ran.returncode == 0, ran.stderr

    second = _plan(dask_project)
    assert second["cached_steps"] == ["numbers", "total"] and second["jobs"] == 0
    again = FlowymlCli(dask_project).run("run", PIPELINE, "-b", "dask", "-q")
    assert again.returncode == 0, again.stderr
    from flowyml.project.folder import forget_projects, open_project

    forget_projects()
    store = open_project(dask_project).run_store
    latest = store.list_runs(limit=1)[0]
    cached = [s.step for s in store.get_steps(latest.run_id) if s.cached]
    assert sorted(cached) == sorted(second["cached_steps"])
    assert len(store.list_runs()) == 2  # the plans recorded no run
