"""Settings of the ``docker`` backend, and the image-build settings every backend that
runs the project in an image shares (``vertex_ai``, and any backend built on this
package's image builder)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, field_validator

from flowyml.backend import DockerConfig, RemoteOrchestratorConfig
from flowyml_docker.image_builder import DEFAULT_WHEEL_PLATFORMS, BuildOptions

__all__ = ["DockerOrchestratorConfig", "ImageBuildSettings"]


class ImageBuildSettings(RemoteOrchestratorConfig):
    """How a backend builds the image its step groups run in.

    Attributes:
        docker_host: the engine that builds (and, for ``docker``, runs) images; default
            ``DOCKER_HOST`` or the local socket.
        base_image: the image to build on (``docker.base_image`` of the stack wins when
            set there); it must have python3 with venv and be on the engine.
        build_network_mode: the network of the image build's ``RUN`` steps.
        project_dir: the folder copied into the image (default: the pipeline module's).
        distributions: the flowyml distributions installed in the image.
        python_version: the base image's Python version, for the dependency wheels.
        wheel_platforms: wheel platform tags the base image accepts.
        pull_base_image: pull a base image the engine does not have (needs a network).
        docker: image settings used when the stack has no ``docker`` section.
    """

    docker_host: str | None = None
    base_image: str | None = None
    build_network_mode: str = "none"
    project_dir: str | None = None
    distributions: list[str] = Field(default_factory=lambda: ["flowyml-core"])
    python_version: str = "3.11"
    wheel_platforms: list[str] = Field(default_factory=lambda: list(DEFAULT_WHEEL_PLATFORMS))
    pull_base_image: bool = False
    docker: DockerConfig | None = None

    @field_validator("project_dir")
    @classmethod
    def _project_dir_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isdir(os.path.expanduser(value)):
            raise ValueError(f"{value} is not a folder")
        return value

    def docker_config(self, given: DockerConfig | None) -> DockerConfig:
        """The image settings of a run: the stack's, else these settings' own."""
        return given or self.docker or DockerConfig()

    def base_image_for(self, docker_config: DockerConfig) -> str:
        """The base image: the stack's ``docker.base_image`` when set there, else ours."""
        if "base_image" in docker_config.model_fields_set or not self.base_image:
            return docker_config.base_image
        return self.base_image

    def build_options(self, docker_config: DockerConfig, **extra: Any) -> BuildOptions:
        """The builder's options for a run with ``docker_config``."""
        return BuildOptions(
            base_image=self.base_image_for(docker_config),
            distributions=tuple(self.distributions),
            python_version=self.python_version,
            platforms=tuple(self.wheel_platforms),
            network_mode=self.build_network_mode,
            pull_base_image=self.pull_base_image,
            **extra,
        )


class DockerOrchestratorConfig(ImageBuildSettings):
    """Settings of the ``docker`` backend (``stacks.NAME.settings`` in flowyml.yaml).

    Attributes:
        network_mode: the step containers' network; ``"none"`` cuts them off.
        max_parallel: how many group containers may run at once.
        stop_grace_seconds: seconds between SIGTERM and SIGKILL when stopping.
        mounts: extra bind mounts for every container, ``"HOST:CONTAINER[:ro|rw]"``.
        user: ``UID:GID`` of the containers (default: the caller's).

    The image is built as :class:`ImageBuildSettings` say.
    """

    network_mode: str = "none"
    max_parallel: int = Field(default=2, ge=1, le=256)
    stop_grace_seconds: float = Field(default=10.0, ge=0)
    mounts: list[str] = Field(default_factory=list)
    user: str | None = None

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
