"""`flowyml run FILE -b docker --plan`: the image tag and the cached steps, known before the
run, building and starting nothing; and the run that follows agrees."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from docker_harness import BASE_IMAGE, PROJECT, numpy_requirement

pytestmark = pytest.mark.docker

DEMO = f"{PROJECT / 'pipelines.py'}:demo"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowyml", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _made_for(client: Any, tag: str, content_hash: str) -> list[str]:
    """Images and containers of the planned image. (The engine is shared with other
    tests, so only what carries this image's tag or content hash is looked at.)"""
    from docker.errors import ImageNotFound

    label = {"label": f"flowyml.content_hash={content_hash}"}
    found = [f"image {i.id}" for i in client.images.list(all=True, filters=label)]
    with contextlib.suppress(ImageNotFound):  # not built: what a plan must leave it
        found.append(f"image {client.images.get(tag).id}")
    found += [
        f"container {c.name}"
        for c in client.containers.list(all=True)
        if c.attrs["Config"].get("Image") == tag
    ]
    return found


@pytest.fixture
def cached_project(project: Path, test_image: str) -> Path:
    """A project whose `docker` stack uses the cache and an image no test built yet (a
    fresh env value changes its content hash)."""
    from flowyml.project.folder import forget_projects

    marker = uuid.uuid4().hex[:12]
    (project / "flowyml.yaml").write_text(
        "stacks:\n"
        "  docker:\n"
        "    backend: docker\n"
        "    settings:\n"
        f"      base_image: {BASE_IMAGE}\n"
        "      stop_grace_seconds: 2\n"
        "    docker:\n"
        f"      requirements: {numpy_requirement()}\n"
        f"      env: {{PLAN_TEST: '{marker}'}}\n"
    )
    forget_projects()
    return project


def _plan(project: Path) -> dict[str, Any]:
    done = _cli(project, "run", DEMO, "-b", "docker", "--plan", "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_plan_builds_and_starts_nothing_and_the_run_agrees(
    cached_project: Path, docker_client: Any
) -> None:
    first = _plan(cached_project)
    assert first["image_action"] == "build"
    tag = first["image"]
    content_hash = first["details"]["image"]["content_hash"]
    assert _made_for(docker_client, tag, content_hash) == []  # nothing built, tagged or run
    assert tag.startswith("flowyml/docker-demo:")
    assert [g["steps"] for g in first["groups"]] == [
        ["numbers"],
        ["squares"],
        ["mean"],
        ["summary"],
    ]
    assert first["cached_steps"] == []
    assert first["jobs"] == 4
    assert first["estimated_cost"] is None
    assert "no price catalog for docker" in first["cost_unknown_because"][0]

    ran = _cli(cached_project, "run", DEMO, "-b", "docker", "-q")
    assert ran.returncode == 0, ran.stderr
    (record,) = (cached_project / ".flowyml" / "docker" / "runs").glob("*.json")
    recorded = json.loads(record.read_text())
    assert recorded["image"]["tag"] == tag, ran.stderr
    assert set(recorded["groups"]) == {g["name"] for g in first["groups"]}
    image = docker_client.images.get(tag)  # the run built exactly the planned tag
    assert image.labels["flowyml.content_hash"].startswith(tag.rpartition(":")[2])

    second = _plan(cached_project)
    assert second["image"] == tag and second["image_action"] == "reuse"
    assert second["cached_steps"] == ["numbers", "squares", "mean", "summary"]
    assert second["jobs"] == 0

    again = _cli(cached_project, "run", DEMO, "-b", "docker", "-q")
    assert again.returncode == 0, again.stderr
    from flowyml.project.folder import forget_projects, open_project

    forget_projects()
    store = open_project(cached_project).run_store
    latest = store.list_runs(limit=1, pipeline="docker-demo")[0]
    cached = [s.step for s in store.get_steps(latest.run_id) if s.cached]
    assert sorted(cached) == sorted(second["cached_steps"])


def test_plan_of_a_changed_parameter_runs_the_steps_that_read_it(
    cached_project: Path, test_image: str
) -> None:
    assert _cli(cached_project, "run", DEMO, "-b", "docker", "-q").returncode == 0
    changed = json.loads(
        _cli(
            cached_project, "run", DEMO, "-b", "docker", "--plan", "--json", "-p", "count=3"
        ).stdout
    )
    steps = {s["name"]: s for g in changed["groups"] for s in g["step_plans"]}
    assert not steps["numbers"]["cached"]
    # Downstream keys are computed from numbers' new key: known, and not in the cache.
    assert steps["summary"]["cache_key"] and not steps["summary"]["cached"]
    assert changed["cached_steps"] == []


def test_a_price_file_gives_docker_a_cost_from_recorded_durations(
    cached_project: Path, test_image: str
) -> None:
    prices = cached_project / ".flowyml" / "prices"
    prices.mkdir(parents=True, exist_ok=True)
    (prices / "docker.json").write_text(
        json.dumps(
            {
                "backend": "docker",
                "source": "our own hosts",
                "as_of": "2026-11-30",
                "machines": [{"name": "host", "vcpus": 64, "memory_gib": 256, "hourly_price": 36}],
            }
        )
    )
    never_ran = _plan(cached_project)
    assert never_ran["estimated_cost"] is None
    assert "no recorded duration for 'numbers'" in " ".join(never_ran["cost_unknown_because"])
    assert _cli(cached_project, "run", DEMO, "-b", "docker", "-q", "--no-cache").returncode == 0
    priced = json.loads(
        _cli(cached_project, "run", DEMO, "-b", "docker", "--plan", "--json", "--no-cache").stdout
    )
    assert priced["prices"]["source"] == "our own hosts"
    assert priced["estimated_seconds"] > 0
    assert priced["estimated_cost"] == pytest.approx(priced["estimated_seconds"] * 36 / 3600)
    assert {g["priced_as"] for g in priced["groups"]} == {"host"}
