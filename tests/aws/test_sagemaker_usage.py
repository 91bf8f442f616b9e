"""sagemaker: each step's resource usage, measured by the step runner inside the
training job's container and returned in its manifest, is recorded with the run."""

from __future__ import annotations

from typing import Any

from sagemaker_harness import *  # noqa: F403 - the shared fixtures
from sagemaker_harness import project_pipeline


def test_each_step_s_usage_is_measured_in_its_job_and_recorded(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    from flowyml.project.folder import forget_projects, open_project

    run = project_pipeline(sagemaker_project, "failing").run("sagemaker", echo_logs=False)
    assert not run.success
    forget_projects()
    steps = {s.step: s for s in open_project(sagemaker_project).run_store.get_run(run.run_id).steps}
    for name in ("start", "explode"):  # succeeded, failed
        usage = steps[name].usage
        assert usage is not None and usage.exact and usage.source == "cgroup", usage
        assert usage.peak_memory_bytes > 10 * 1024 * 1024 and usage.wall_seconds > 0
