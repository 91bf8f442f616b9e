"""The conformance suite on `docker`, on the real engine.

The suite's pipelines live in `flowyml.testing.pipelines`, so the containers import them
from the flowyml installed in the image: the project folder copied in (``project_dir``)
is empty on purpose. Every test of the class shares that one image.
"""

from __future__ import annotations

from typing import Any

import pytest
from docker_harness import BASE_IMAGE, numpy_requirement

from flowyml.testing import BackendConformance, Leftovers

pytestmark = pytest.mark.docker


class TestDockerConformance(BackendConformance):
    """`docker`: each step group in a container of its own."""

    isolates_steps = True
    stops_running_steps = True
    stop_seconds = 30.0

    @pytest.fixture
    def backend_stack(
        self, docker_client: Any, tmp_path_factory: pytest.TempPathFactory
    ) -> dict[str, Any]:
        # Empty, so its content never changes the image: each test finds the same one.
        empty_project = tmp_path_factory.mktemp("docker-conformance-source")
        return {
            "backend": "docker",
            "settings": {
                "base_image": BASE_IMAGE,
                "stop_grace_seconds": 2,
                "project_dir": str(empty_project),
            },
            # The requirements of the other docker tests' images: one shared venv layer.
            "docker": {"requirements": numpy_requirement()},
        }

    @pytest.fixture
    def leftovers(self, docker_client: Any) -> Leftovers:
        from flowyml_docker.engine import managed_containers

        return lambda run_id: [c.name for c in managed_containers(docker_client, run_id)]

    def test_the_suites_pipelines_come_from_the_flowyml_installed_in_the_image(
        self, docker_client: Any, backend_stack: dict[str, Any]
    ) -> None:
        from flowyml.records.resources import DockerConfig
        from flowyml.testing.pipelines import arithmetic
        from flowyml_docker.image_builder import VENV, BuildOptions, ensure_image
        from flowyml_docker.project_source import locate_project

        config = DockerConfig(**backend_stack["docker"])
        project_dir = backend_stack["settings"]["project_dir"]
        source = locate_project(arithmetic, config.workdir, project_dir)
        assert source.files == ()
        assert source.pipeline_ref == "flowyml.testing.pipelines:arithmetic"
        options = BuildOptions(base_image=BASE_IMAGE)
        image = ensure_image(docker_client, arithmetic.name, source, config, options)
        probe = (
            "import sys, flowyml.testing.pipelines as p; print(p.__file__, 'pytest' in sys.modules)"
        )
        output = docker_client.containers.run(
            image.tag, [f"{VENV}/bin/python", "-c", probe], network_mode="none", remove=True
        )
        where, pytest_imported = output.decode().split()
        assert where.startswith(f"{VENV}/lib/") and where.endswith("flowyml/testing/pipelines.py")
        assert pytest_imported == "False"
