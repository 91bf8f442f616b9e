"""vertex_ai: each step's resource usage, measured by the step runner inside the job's
container and returned in its manifest, is in the run's details."""

from __future__ import annotations

import pytest
from test_vertex_harness import *  # noqa: F403 - the shared fixtures
from test_vertex_harness import test_pipeline

pytestmark = pytest.mark.gcp


def test_each_step_s_usage_is_measured_in_its_job_and_shown_in_the_details(
    orchestrator, vertex_project
):
    pipeline = test_pipeline(vertex_project, "failing")
    submission = orchestrator.run_pipeline(pipeline, "usage-1", echo_logs=False)
    assert submission.wait(120).value == "failed"
    details = orchestrator.get_run_details(submission.job_id)
    for group, step in (("start", "start"), ("explode", "explode")):  # succeeded, failed
        usage = details["groups"][group]["step_results"][step]["usage"]
        assert usage["exact"] and usage["source"] == "cgroup", usage
        assert usage["peak_memory_bytes"] > 10 * 1024 * 1024 and usage["wall_seconds"] > 0
