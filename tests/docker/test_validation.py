"""Bad input: each problem is a clear error naming what to fix."""

from __future__ import annotations

import pytest
from docker_harness import BASE_IMAGE, pipeline

pytestmark = pytest.mark.docker


def test_an_unreachable_engine_is_a_backend_error_naming_it(tmp_path):
    from flowyml.errors import BackendError
    from flowyml_docker import DockerOrchestrator

    dead = f"unix://{tmp_path / 'no-engine.sock'}"
    with pytest.raises(BackendError, match="no-engine.sock") as caught:
        DockerOrchestrator(docker_host=dead).validate()
    assert "not reachable" in str(caught.value)


def test_an_unknown_base_image_is_a_backend_error_naming_it(docker_client, docker_project):
    from flowyml.errors import BackendError
    from flowyml_docker import DockerOrchestrator

    orchestrator = DockerOrchestrator(base_image="flowyml-test/no-such-image:1")
    with pytest.raises(BackendError, match="'flowyml-test/no-such-image:1' is not present"):
        orchestrator.validate()
    with pytest.raises(BackendError, match="no-such-image"):
        orchestrator.run_pipeline(pipeline("demo"), "no-image")


def test_validate_accepts_a_reachable_engine_and_present_image(docker_client):
    from flowyml_docker import DockerOrchestrator

    assert DockerOrchestrator(base_image=BASE_IMAGE).validate() is True


def test_an_unknown_setting_is_a_config_error_naming_the_key(project):
    from flowyml.errors import ConfigError
    from flowyml.project.folder import forget_projects
    from flowyml_docker import DockerOrchestrator

    with pytest.raises(ConfigError, match="bogus"):
        DockerOrchestrator(bogus=1)
    (project / "flowyml.yaml").write_text(
        "stacks:\n  docker:\n    backend: docker\n    settings: {max_parallel: many}\n"
    )
    forget_projects()
    with pytest.raises(ConfigError, match="stacks.docker.settings.max_parallel"):
        pipeline("demo").run("docker")


def test_a_bad_mount_is_a_config_error(docker_client):
    from flowyml.errors import ConfigError
    from flowyml_docker import DockerExecutor

    with pytest.raises(ConfigError, match="relative:/data"):
        DockerExecutor("any", mounts=["relative:/data"])


def test_queries_about_an_unknown_run_name_it(orchestrator):
    from flowyml.errors import RunNotFoundError

    with pytest.raises(RunNotFoundError, match="no-such-run"):
        orchestrator.get_run_status("no-such-run")
    with pytest.raises(RunNotFoundError, match="no-such-run"):
        orchestrator.get_run_logs("no-such-run")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("mounts: ['/no/such/folder:/data']", r"mounts.*/no/such/folder does not exist"),
        ("mounts: ['just-a-path']", r"mounts.*must look like 'HOST:CONTAINER\[:ro\|rw\]'"),
        ("project_dir: /no/such/project", r"project_dir.*/no/such/project is not a folder"),
    ],
)
def test_settings_naming_files_are_checked_when_the_stack_is_loaded(project, setting, expected):
    from flowyml.errors import ConfigError

    (project / "flowyml.yaml").write_text(
        f"stacks:\n  box:\n    backend: docker\n    settings: {{{setting}}}\n"
    )
    with pytest.raises(ConfigError, match=expected):
        pipeline("demo").run("box")
