"""The conformance suite on `vertex_ai`, against the loopback Vertex AI, Cloud Logging and
GCS servers; every CustomJob really runs on the Docker engine.

The suite's pipelines live in `flowyml.testing.pipelines`, so the jobs import them from
the flowyml installed in the image: the project folder copied in (``project_dir``) is
empty on purpose. Every test of the class shares that one image.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_vertex_harness import *  # noqa: F403 - the shared fixtures
from test_vertex_harness import numpy_requirement

from flowyml.testing import BackendConformance, Leftovers

pytestmark = pytest.mark.gcp


class TestVertexConformance(BackendConformance):
    """`vertex_ai`: each step group a CustomJob."""

    isolates_steps = True
    stops_running_steps = True
    stop_seconds = 30.0

    @pytest.fixture
    def backend_stack(
        self, vertex_settings: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
    ) -> dict[str, Any]:
        # Empty, so its content never changes the image: each test finds the same one.
        empty_project = tmp_path_factory.mktemp("vertex-conformance-source")
        return {
            "backend": "vertex_ai",
            "settings": {**vertex_settings, "project_dir": str(empty_project)},
            # The requirements of the other gcp tests' images: one shared venv layer.
            "docker": {"requirements": numpy_requirement()},
        }

    @pytest.fixture
    def leftovers(self, fake_vertex: Any) -> Leftovers:
        return lambda run_id: [c.name for c in fake_vertex.launcher.leftovers()]
