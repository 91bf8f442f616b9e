"""The conformance suite on `kubernetes`, against the loopback fake apiserver; every Job's
pod really runs on the Docker engine.

The suite's pipelines live in `flowyml.testing.pipelines`, so pods import them from the
flowyml installed in the image: the project folder copied in (``project_dir``) is empty
on purpose, and every test of the class shares one image. The artifact store is the
folder the fake binds to the ``flowyml-artifacts`` claim, mounted in pods at the same
path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_k8s_harness import *  # noqa: F403 - the shared fixtures
from test_k8s_harness import still_running

from flowyml.testing import BackendConformance, Leftovers


class TestKubernetesConformance(BackendConformance):
    """`kubernetes`: each step group a batch/v1 Job."""

    isolates_steps = True
    stops_running_steps = True
    stop_seconds = 30.0

    @pytest.fixture
    def backend_stack(
        self,
        k8s_settings: dict[str, Any],
        shared_artifacts: Path,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> dict[str, Any]:
        # Empty, so its content never changes the image: each test finds the same one.
        empty_project = tmp_path_factory.getbasetemp() / "k8s-conformance-source"
        empty_project.mkdir(exist_ok=True)
        return {
            "backend": "kubernetes",
            "settings": {**k8s_settings, "project_dir": str(empty_project)},
            "artifact_store": shared_artifacts.as_uri(),
        }

    @pytest.fixture
    def leftovers(self, backend_fake: Any) -> Leftovers:
        return lambda run_id: still_running(backend_fake, run_id)
