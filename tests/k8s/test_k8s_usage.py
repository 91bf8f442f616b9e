"""Resource usage on the fake cluster: measured by the step runner in each pod's
container, and an OOMKilled pod recorded at its memory limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_k8s_harness import *  # noqa: F403 - the shared fixtures
from test_k8s_harness import load_pipeline, stack_of

from flowyml.backend import parse_memory


def run(orchestrator: Any, project: Path, name: str, run_id: str) -> dict[str, Any]:
    submission = orchestrator.run_pipeline(
        load_pipeline(project, name), run_id, stack=stack_of(project), echo_logs=False
    )
    submission.wait(timeout=120)
    return dict(orchestrator.get_run_details(run_id))


def step_summary(details: dict[str, Any], step: str) -> dict[str, Any]:
    for group in details["groups"].values():
        if step in group["step_results"]:
            return dict(group["step_results"][step])
    raise AssertionError(f"no step {step} in {details['groups']}")


def test_each_step_s_usage_is_measured_in_its_pod_and_shown_in_the_details(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    details = run(orchestrator, k8s_project, "talking", "usage-talk")
    assert details["status"] == "success", details
    usage = step_summary(details, "chatty")["usage"]
    assert usage["exact"] and usage["source"] == "cgroup", usage
    assert usage["peak_memory_bytes"] > 10 * 1024 * 1024
    assert usage["wall_seconds"] > 0 and usage["cpu_user_seconds"] >= 0


def test_an_oom_killed_pod_is_recorded_with_its_limit_as_its_peak(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    details = run(orchestrator, k8s_project, "hogging", "usage-oom")
    usage = step_summary(details, "hog")["usage"]
    limit = parse_memory("64Mi")
    assert usage["oom_killed"] and usage["memory_limit_bytes"] == limit, usage
    assert usage["peak_memory_bytes"] == limit
