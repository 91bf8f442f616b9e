"""The conformance suite on `sagemaker`, against the fake SageMaker and moto; every
training job really runs on the Docker engine and reads and writes moto's S3.

The suite's pipelines live in `flowyml.testing.pipelines`, so the jobs import them from
the flowyml installed in the image: the project folder copied in (``project_dir``) is
empty on purpose. Every test of the class shares that one image.
"""

from __future__ import annotations

from typing import Any

import pytest
from sagemaker_harness import *  # noqa: F403 - the shared fixtures
from sagemaker_harness import numpy_requirement

from flowyml.testing import BackendConformance, Leftovers

pytestmark = pytest.mark.aws


class TestSageMakerConformance(BackendConformance):
    """`sagemaker`: each step group a training job."""

    isolates_steps = True
    stops_running_steps = True
    stop_seconds = 30.0

    @pytest.fixture
    def backend_stack(
        self,
        sagemaker: Any,
        sagemaker_settings: dict[str, Any],
        tmp_path_factory: pytest.TempPathFactory,
    ) -> dict[str, Any]:
        # Empty, so its content never changes the image: each test finds the same one.
        empty_project = tmp_path_factory.mktemp("sagemaker-conformance-source")
        return {
            "backend": "sagemaker",
            "settings": {**sagemaker_settings, "project_dir": str(empty_project)},
            "docker": {"requirements": numpy_requirement()},
        }

    @pytest.fixture
    def leftovers(self, sagemaker: Any) -> Leftovers:
        return lambda run_id: [c.name for c in sagemaker.launcher.leftovers()]
