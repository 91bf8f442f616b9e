"""Runs on the sagemaker backend: each group a training job of the fake SageMaker."""

from __future__ import annotations

from typing import Any

from sagemaker_harness import *  # noqa: F403 - the shared fixtures
from sagemaker_harness import project_pipeline


def test_failing_step_fails_the_run_with_its_error(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    run = project_pipeline(sagemaker_project, "failing").run("sagemaker", echo_logs=False)

    assert not run.success
    assert "bad input 3: cannot double it" in run.error
