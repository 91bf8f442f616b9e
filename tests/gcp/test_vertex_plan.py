"""`--plan` on vertex_ai: machine types, the image, cached steps and the cost, known with
no CustomJob created, no object written and no image built or pushed; the run agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_vertex_harness import *  # noqa: F403 - the shared fixtures
from test_vertex_harness import REGISTRY, test_pipeline

from flowyml.backend import StackConfig

pytestmark = pytest.mark.gcp

CACHED = StackConfig(backend="vertex_ai", cache=True)
N1_STANDARD_4 = 0.218499  # us-central1, as shipped in data/vertex_ai_machines.json


def _bucket_objects(storage_client: Any, bucket: str) -> set[str]:
    return {b.name for b in storage_client.list_blobs(bucket.removeprefix("gs://"))}


def _creates(orchestrator: Any) -> dict[str, int]:
    calls = orchestrator.apis.counter.calls
    return {m: n for m, n in calls.items() if not m.lower().startswith(("get", "list"))}


def test_the_plan_creates_nothing_and_the_run_agrees(
    orchestrator: Any,
    vertex_project: Path,
    fake_vertex: Any,
    storage_client: Any,
    staging_bucket: str,
) -> None:
    pipeline = test_pipeline(vertex_project, "talking")
    jobs, objects = len(fake_vertex.jobs.records()), _bucket_objects(storage_client, staging_bucket)
    first = orchestrator.plan(pipeline, stack=CACHED)
    assert len(fake_vertex.jobs.records()) == jobs
    assert _bucket_objects(storage_client, staging_bucket) == objects
    assert _creates(orchestrator) == {}
    assert [g.steps for g in first.groups] == [["start"], ["chatty"]]
    assert {g.machine_type for g in first.groups} == {"n1-standard-4"}
    assert first.image.startswith(f"{REGISTRY}/talking:")
    assert first.cached_steps == [] and first.jobs == 2
    assert first.estimated_cost is None  # these steps never ran
    assert "no recorded duration for 'start'" in " ".join(first.cost_unknown_because)

    submission = orchestrator.run_pipeline(pipeline, "plan-1", stack=CACHED, echo_logs=False)
    assert submission.wait(120).value == "success"
    assert submission.metadata["image"] == first.image
    groups = orchestrator.get_run_details("plan-1")["groups"]
    assert set(groups) == {g.name for g in first.groups}
    assert {g["machine"]["machine_type"] for g in groups.values()} == {"n1-standard-4"}

    second = orchestrator.plan(pipeline, stack=CACHED)
    assert second.image == first.image and second.image_action == "reuse"
    assert second.details["image"]["push"] is False
    assert second.cached_steps == ["start", "chatty"] and second.jobs == 0
    assert second.estimated_cost == 0.0

    # A new parameter: both steps run again, priced from the durations just recorded.
    changed = orchestrator.plan(pipeline, stack=CACHED, context={"count": 5})
    assert changed.cached_steps == [] and changed.estimated_seconds
    assert changed.estimated_cost == pytest.approx(changed.estimated_seconds * N1_STANDARD_4 / 3600)
    assert "cloud.google.com/vertex-ai/pricing" in changed.prices["source"]
    assert len(fake_vertex.jobs.records()) == jobs + 2  # the run's two, none of the plans'

    again = orchestrator.run_pipeline(pipeline, "plan-2", stack=CACHED, echo_logs=False)
    assert again.wait(120).value == "success"
    from flowyml.project.folder import open_project

    steps = open_project(vertex_project).run_store.get_steps("plan-2")
    assert sorted(s.step for s in steps if s.cached) == sorted(second.cached_steps)


def test_a_price_file_in_the_project_replaces_the_shipped_prices(
    orchestrator: Any, vertex_project: Path
) -> None:
    from flowyml_gcp import VertexAIOrchestrator
    from flowyml_gcp.machines import SHIPPED_CATALOG

    shipped = json.loads(SHIPPED_CATALOG.read_text())
    for machine in shipped["machines"]:
        if machine["name"] == "n1-standard-4":
            machine["hourly_price"] = 36.0
    shipped["source"] = "our negotiated prices"
    prices = vertex_project / ".flowyml" / "prices"
    prices.mkdir(parents=True, exist_ok=True)
    (prices / "vertex_ai.json").write_text(json.dumps(shipped))
    catalog = VertexAIOrchestrator.machine_catalog(vertex_project)
    assert catalog is not None and catalog.hourly_price("n1-standard-4") == 36.0
    plan = orchestrator.plan(test_pipeline(vertex_project, "talking"), stack=CACHED)
    assert plan.prices["source"] == "our negotiated prices"
    assert plan.prices["file"] == str(prices / "vertex_ai.json")


def test_flowyml_run_plan_json_on_vertex_parses(vertex_project: Path, fake_vertex: Any) -> None:
    from cli_process import FlowymlCli

    jobs = len(fake_vertex.jobs.records())
    done = FlowymlCli(vertex_project).run(
        "run", "pipelines.py:talking", "-b", "vertex", "--plan", "--json"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["backend"] == "vertex_ai" and plan["jobs"] == 2
    assert plan["notes"] == ["the cache is off for this run: every step runs"]  # cache: false
    assert [g["machine_type"] for g in plan["groups"]] == ["n1-standard-4", "n1-standard-4"]
    assert len(fake_vertex.jobs.records()) == jobs
