"""Runs on the fake cluster: submission, Jobs, logs kept after deletion, secrets, stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_k8s_harness import *  # noqa: F403 - the shared fixtures
from test_k8s_harness import load_pipeline, run_objects, stack_of


def test_a_run_succeeds_with_one_job_per_group(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    pipeline = load_pipeline(k8s_project, "talking")
    submission = orchestrator.run_pipeline(
        pipeline, "run-talk", stack=stack_of(k8s_project), echo_logs=False
    )
    status = submission.wait(timeout=240)
    details = orchestrator.get_run_details("run-talk")
    print(details, orchestrator.get_run_logs("run-talk"))
    assert status.value == "success"
    assert set(details["groups"]) == {"start", "chatty"}
