"""The `flowyml_run_crashed` hook: a crashed docker run's containers go, nothing else does."""

from __future__ import annotations

import secrets
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from docker_harness import BASE_IMAGE


def test_the_hook_for_another_backends_run_imports_no_docker():
    code = (
        "import sys\n"
        "from flowyml.plugins.manager import get_plugin_manager\n"
        "get_plugin_manager().notify_run_crashed('some-run', 'local')\n"
        "assert 'docker' not in sys.modules, 'docker was imported'\n"
    )
    subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code], check=True)


def test_the_hook_does_nothing_when_the_engine_is_unreachable(project, tmp_path, monkeypatch):
    from flowyml_docker.plugin import flowyml_run_crashed

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    flowyml_run_crashed(run_id="some-run", backend="docker")


def test_the_engines_searched_are_the_default_and_each_docker_stacks_host(project):
    from flowyml_docker.crashed_runs import engine_hosts

    (project / "flowyml.yaml").write_text(
        "stacks:\n"
        "  remote:\n"
        "    backend: docker\n"
        "    settings: {docker_host: 'tcp://build-box:2375'}\n"
        "  plain:\n"
        "    backend: docker\n"
        "  elsewhere:\n"
        "    backend: local\n"
        "    settings: {docker_host: 'tcp://not-docker:2375'}\n"
    )
    assert engine_hosts() == [None, "tcp://build-box:2375"]


@pytest.fixture
def sleepers(docker_client: Any) -> Iterator[Any]:
    """Starts a sleeping container labelled as a step of a run; removes what is left."""
    from flowyml_docker.engine import LABEL_MANAGED, LABEL_RUN_ID

    started: list[Any] = []

    def start(run_id: str) -> Any:
        container = docker_client.containers.run(
            BASE_IMAGE,
            ["sleep", "60"],
            labels={LABEL_MANAGED: "1", LABEL_RUN_ID: run_id},
            network_mode="none",
            detach=True,
        )
        started.append(container)
        return container

    yield start
    from docker.errors import NotFound

    for container in started:
        try:
            container.remove(force=True)
        except NotFound:
            continue  # removed by the code under test


@pytest.mark.docker
def test_a_crashed_docker_runs_containers_are_removed_and_no_other_runs(docker_client, sleepers):
    from flowyml.plugins.manager import get_plugin_manager
    from flowyml_docker.engine import managed_containers

    crashed, alive = (f"crash-{secrets.token_hex(4)}" for _ in range(2))
    sleepers(crashed)
    survivor = sleepers(alive)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hook that raised is reported as a warning
        get_plugin_manager().notify_run_crashed(crashed, "docker")
    assert not managed_containers(docker_client, crashed)
    assert [c.id for c in managed_containers(docker_client, alive)] == [survivor.id]
