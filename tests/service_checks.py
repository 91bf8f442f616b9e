"""What the suites that run containers share: skipping (or, in CI, failing) when a service
is missing, and the local Docker engine with the base image ``.ci/services`` builds."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

BASE_IMAGE = "flowyml-test/python:bookworm"


def unavailable_in(suite: str) -> Callable[[str], NoReturn]:
    """``unavailable(reason)`` for ``suite``: skips, or fails when CI=true (CI must run
    every suite for real)."""

    def unavailable(reason: str) -> NoReturn:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{suite} tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)

    return unavailable


def engine_with_base_image(unavailable: Callable[[str], NoReturn]) -> Any:
    """A ``docker.DockerClient`` of the local engine, once it answers and holds the base
    image; otherwise ``unavailable`` says why."""
    try:
        import docker
    except ImportError:
        unavailable("the docker SDK is not installed")
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        unavailable(f"no Docker engine answers ({error}); bash .ci/services starts one")
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        client.close()
        unavailable(f"the base image {BASE_IMAGE} is missing; bash .ci/services builds it")
    return client
