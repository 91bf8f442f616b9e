"""`--plan` on kubernetes: groups, cached steps and the image, known before the run with
no create call on the fake apiserver; the run that follows agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_k8s_harness import *  # noqa: F403 - the shared fixtures
from test_k8s_harness import load_pipeline, stack_of

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def cached_project(k8s_project: Path) -> Path:
    """The test project with its `k8s` stack using the cache."""
    import yaml

    from flowyml.project.folder import forget_projects

    config = yaml.safe_load((k8s_project / "flowyml.yaml").read_text())
    config["stacks"]["k8s"]["cache"] = True
    (k8s_project / "flowyml.yaml").write_text(yaml.safe_dump(config))
    forget_projects()
    return k8s_project


def _writes(server: Any) -> list[Any]:
    return [r for r in server.requests.requests() if r.method in WRITES]


def test_the_plan_creates_nothing_and_the_run_agrees(
    orchestrator: Any, cached_project: Path, backend_fake: Any
) -> None:
    pipeline = load_pipeline(cached_project, "talking")
    stack = stack_of(cached_project)
    writes = len(_writes(backend_fake))
    first = orchestrator.plan(pipeline, stack=stack)
    assert len(_writes(backend_fake)) == writes  # not one create, update or delete
    assert [g.steps for g in first.groups] == [["start"], ["chatty"]]
    assert first.cached_steps == [] and first.jobs == 2
    assert first.image.startswith("127.0.0.1:5000/flowyml-k8s-test/talking:")
    assert "kind: Job" in first.details["yaml"]
    assert first.estimated_cost is None

    submission = orchestrator.run_pipeline(pipeline, "run-planned", stack=stack, echo_logs=False)
    assert submission.wait(timeout=120).value == "success"
    assert submission.metadata["image"] == first.image
    details = orchestrator.get_run_details("run-planned")
    assert set(details["groups"]) == {g.name for g in first.groups}

    writes = len(_writes(backend_fake))
    second = orchestrator.plan(pipeline, stack=stack)
    assert len(_writes(backend_fake)) == writes
    assert second.image == first.image and second.image_action == "reuse"
    assert second.details["image"]["push"] is False  # the registry holds it already
    assert second.cached_steps == ["start", "chatty"] and second.jobs == 0

    again = orchestrator.run_pipeline(pipeline, "run-replanned", stack=stack, echo_logs=False)
    assert again.wait(timeout=120).value == "success"
    from flowyml.project.folder import open_project

    steps = open_project(cached_project).run_store.get_steps("run-replanned")
    assert sorted(s.step for s in steps if s.cached) == sorted(second.cached_steps)


def test_flowyml_run_plan_json_parses_and_creates_nothing(
    cached_project: Path, backend_fake: Any
) -> None:
    from cli_process import FlowymlCli

    writes = len(_writes(backend_fake))
    done = FlowymlCli(cached_project).run(
        "run", "pipelines.py:talking", "-b", "k8s", "--plan", "--json"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["backend"] == "kubernetes" and plan["jobs"] == 2
    assert [g["name"] for g in plan["groups"]] == ["start", "chatty"]
    assert "no price catalog for kubernetes" in plan["cost_unknown_because"][0]
    assert len(_writes(backend_fake)) == writes
