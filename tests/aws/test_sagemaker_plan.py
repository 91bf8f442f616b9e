"""`--plan` on sagemaker: instance types, the image, cached steps and the cost, known with
no training job created, no object written and no image built or pushed; the run agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagemaker_harness import *  # noqa: F403 - the shared fixtures
from sagemaker_harness import REGISTRY, project_pipeline

from flowyml.backend import StackConfig

CACHED = StackConfig(backend="sagemaker", cache=True)
ML_M5_LARGE = 0.115  # us-east-1 training, as shipped in data/sagemaker_instances.json
WRITES = ("Create", "Put", "Upload", "Delete", "Start", "Stop", "Complete")


def _objects(s3_client: Any, bucket: str) -> set[str]:
    listed = s3_client.list_objects_v2(Bucket=bucket.removeprefix("s3://"))
    return {o["Key"] for o in listed.get("Contents", [])}


def _writes(orchestrator: Any, sagemaker: Any) -> list[str]:
    sent = [*orchestrator.clients.calls, *sagemaker.requests.counts()]
    return sorted({op for op in sent if op.startswith(WRITES)})


def test_the_plan_creates_nothing_and_the_run_agrees(
    orchestrator: Any,
    sagemaker_project: Path,
    sagemaker: Any,
    s3_client: Any,
    artifact_bucket: str,
) -> None:
    import pytest

    pipeline = project_pipeline(sagemaker_project, "talking")
    objects = _objects(s3_client, artifact_bucket)
    first = orchestrator.plan(pipeline, stack=CACHED)
    assert _writes(orchestrator, sagemaker) == []
    assert _objects(s3_client, artifact_bucket) == objects
    assert [g.steps for g in first.groups] == [["start"], ["chatty"]]
    assert {g.machine_type for g in first.groups} == {"ml.m5.large"}
    assert first.image.startswith(f"{REGISTRY}/talking:")
    assert first.cached_steps == [] and first.jobs == 2
    assert first.estimated_cost is None
    assert "no recorded duration for 'start'" in " ".join(first.cost_unknown_because)

    submission = orchestrator.run_pipeline(pipeline, "plan-1", stack=CACHED, echo_logs=False)
    assert submission.wait(120).value == "success"
    assert submission.metadata["image"] == first.image
    groups = orchestrator.get_run_details("plan-1")["groups"]
    assert set(groups) == {g.name for g in first.groups}
    created = sagemaker.requests.bodies("CreateTrainingJob")
    assert {b["ResourceConfig"]["InstanceType"] for b in created} == {"ml.m5.large"}

    before = sagemaker.requests.counts().get("CreateTrainingJob", 0)
    second = orchestrator.plan(pipeline, stack=CACHED)
    assert sagemaker.requests.counts().get("CreateTrainingJob", 0) == before
    assert second.image == first.image and second.image_action == "reuse"
    assert second.details["image"]["push"] is False
    assert second.cached_steps == ["start", "chatty"] and second.jobs == 0

    changed = orchestrator.plan(pipeline, stack=CACHED, context={"count": 5})
    assert changed.cached_steps == [] and changed.estimated_seconds
    assert changed.estimated_cost == pytest.approx(changed.estimated_seconds * ML_M5_LARGE / 3600)
    assert "aws.amazon.com/sagemaker/pricing" in changed.prices["source"]
    assert changed.prices["region"] == "us-east-1"

    again = orchestrator.run_pipeline(pipeline, "plan-2", stack=CACHED, echo_logs=False)
    assert again.wait(120).value == "success"
    from flowyml.project.folder import open_project

    steps = open_project(sagemaker_project).run_store.get_steps("plan-2")
    assert sorted(s.step for s in steps if s.cached) == sorted(second.cached_steps)


def test_the_prices_dir_variable_replaces_the_shipped_prices(
    orchestrator: Any, sagemaker_project: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    from flowyml_aws import SageMakerOrchestrator
    from flowyml_aws.instance_types import SHIPPED_CATALOG

    shipped = json.loads(SHIPPED_CATALOG.read_text())
    shipped["source"] = "our enterprise agreement"
    shipped["machines"] = [{**m, "hourly_price": 1.0} for m in shipped["machines"]]
    (tmp_path / "sagemaker.json").write_text(json.dumps(shipped))
    monkeypatch.setenv("FLOWYML_PRICES_DIR", str(tmp_path))
    catalog = SageMakerOrchestrator.machine_catalog(sagemaker_project)
    assert catalog is not None and catalog.hourly_price("ml.m5.large") == 1.0
    plan = orchestrator.plan(project_pipeline(sagemaker_project, "talking"), stack=CACHED)
    assert plan.prices["source"] == "our enterprise agreement"


def test_flowyml_run_plan_json_on_sagemaker_parses(sagemaker_project: Path, sagemaker: Any) -> None:
    from cli_process import FlowymlCli

    done = FlowymlCli(sagemaker_project).run(
        "run", "pipelines.py:talking", "-b", "sagemaker", "--plan", "--json"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["backend"] == "sagemaker" and plan["jobs"] == 2
    assert [g["machine_type"] for g in plan["groups"]] == ["ml.m5.large", "ml.m5.large"]
    assert "CreateTrainingJob" not in sagemaker.requests.counts()
