"""The Docker engine connection, and the labels that mark the containers FlowyML runs.

The docker SDK is imported inside these functions, never when ``flowyml_docker`` is
imported, so ``flowyml backends`` and ``import flowyml`` stay fast.
"""

from __future__ import annotations

import os
from typing import Any

from flowyml.backend import BackendError

__all__ = [
    "LABEL_GROUP",
    "LABEL_MANAGED",
    "LABEL_PIPELINE",
    "LABEL_RUN_ID",
    "LABEL_SECRET_ENV",
    "LABEL_STEPS",
    "connect",
    "engine_errors",
    "managed_containers",
]

LABEL_RUN_ID = "flowyml.run_id"
LABEL_GROUP = "flowyml.group"
LABEL_STEPS = "flowyml.steps"
LABEL_PIPELINE = "flowyml.pipeline"
LABEL_MANAGED = "flowyml.managed"
LABEL_SECRET_ENV = "flowyml.secret_env"


def engine_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the engine refused or could not be reached"."""
    import requests
    from docker.errors import DockerException

    return (DockerException, requests.RequestException, OSError)


def describe_host(docker_host: str | None) -> str:
    """Where the engine is looked for, in words."""
    return docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(docker_host: str | None, timeout: float | None = 60.0, pool_size: int = 10) -> Any:
    """A ``docker.DockerClient`` for the engine at ``docker_host`` that answered a ping.

    Args:
        docker_host: the engine URL (``unix:///...``, ``tcp://...``); ``None`` follows
            ``DOCKER_HOST`` and the default socket.
        timeout: seconds an API call may take; ``None`` for calls that follow a stream.
        pool_size: connections kept open (each running container holds one or two).

    Raises:
        BackendError: the engine is not reachable there.
    """
    import docker

    try:
        if docker_host:
            client = docker.DockerClient(
                base_url=docker_host, timeout=timeout, max_pool_size=pool_size
            )
        else:
            client = docker.from_env(timeout=timeout, max_pool_size=pool_size)
        client.ping()
    except engine_errors() as exc:
        raise BackendError(
            f"the Docker engine at {describe_host(docker_host)} is not reachable: {exc}. "
            "Start dockerd, or point the `docker_host` setting (or DOCKER_HOST) at a "
            "running engine"
        ) from None
    return client


def managed_containers(client: Any, run_id: str | None = None) -> list[Any]:
    """Containers FlowyML started (every state), optionally only those of one run."""
    labels = [f"{LABEL_MANAGED}=1"]
    if run_id is not None:
        labels.append(f"{LABEL_RUN_ID}={run_id}")
    # ignore_removed: a container removed between the listing and its inspection (its run
    # ended meanwhile) is simply not listed, instead of failing the caller with NotFound.
    return list(client.containers.list(all=True, filters={"label": labels}, ignore_removed=True))
