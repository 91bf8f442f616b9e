"""Settings of the ``docker`` backend."""

from __future__ import annotations

import os

from pydantic import Field, field_validator

from flowyml.backend import DockerConfig, RemoteOrchestratorConfig
from flowyml_docker.image_builder import DEFAULT_WHEEL_PLATFORMS

__all__ = ["DockerOrchestratorConfig"]


class DockerOrchestratorConfig(RemoteOrchestratorConfig):
    """Settings of the ``docker`` backend (``stacks.NAME.settings`` in flowyml.yaml).

    Attributes:
        docker_host: the engine URL; default ``DOCKER_HOST`` or the local socket.
        base_image: the image to build on (``docker.base_image`` of the stack wins when
            set there); it must have python3 with venv and be on the engine.
        network_mode: the step containers' network; ``"none"`` cuts them off.
        build_network_mode: the network of the image build's ``RUN`` steps.
        max_parallel: how many group containers may run at once.
        stop_grace_seconds: seconds between SIGTERM and SIGKILL when stopping.
        mounts: extra bind mounts for every container, ``"HOST:CONTAINER[:ro|rw]"``.
        project_dir: the folder copied into the image (default: the pipeline module's).
        distributions: the flowyml distributions installed in the image.
        python_version: the base image's Python version, for the dependency wheels.
        wheel_platforms: wheel platform tags the base image accepts.
        pull_base_image: pull a base image the engine does not have (needs a network).
        user: ``UID:GID`` of the containers (default: the caller's).
        docker: image settings used when the stack has no ``docker`` section.
    """

    docker_host: str | None = None
    base_image: str | None = None
    network_mode: str = "none"
    build_network_mode: str = "none"
    max_parallel: int = Field(default=2, ge=1, le=256)
    stop_grace_seconds: float = Field(default=10.0, ge=0)
    mounts: list[str] = Field(default_factory=list)
    project_dir: str | None = None
    distributions: list[str] = Field(default_factory=lambda: ["flowyml-core"])
    python_version: str = "3.11"
    wheel_platforms: list[str] = Field(default_factory=lambda: list(DEFAULT_WHEEL_PLATFORMS))
    pull_base_image: bool = False
    user: str | None = None
    docker: DockerConfig | None = None

    # Settings that name files are checked when the stack is loaded, not when a container
    # fails to start halfway through a run.
    @field_validator("mounts")
    @classmethod
    def _mounts_exist(cls, value: list[str]) -> list[str]:
        for mount in value:
            host, sep, rest = mount.partition(":")
            container, _, mode = rest.partition(":")
            if not sep or not host or not container or mode not in ("", "ro", "rw"):
                raise ValueError(f"mount {mount!r} must look like 'HOST:CONTAINER[:ro|rw]'")
            if not os.path.exists(os.path.expanduser(host)):
                raise ValueError(f"mount {mount!r}: {host} does not exist on this machine")
        return value

    @field_validator("project_dir")
    @classmethod
    def _project_dir_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isdir(os.path.expanduser(value)):
            raise ValueError(f"{value} is not a folder")
        return value
