"""Containers of step groups: create arguments from resources and mounts, names, stopping."""

from __future__ import annotations

import os
import re
import secrets as random_tokens
import threading
from typing import Any

from flowyml.backend import ConfigError, ResourceConfig
from flowyml_docker.engine import engine_errors

__all__ = ["container_limits", "container_name", "parse_mounts", "stop_containers"]


def container_limits(resources: ResourceConfig) -> dict[str, Any]:
    """Container create arguments for CPU, memory, shared memory and GPUs."""
    from docker.types import DeviceRequest

    limits: dict[str, Any] = {}
    if resources.memory_bytes:
        limits["mem_limit"] = resources.memory_bytes
        limits["memswap_limit"] = resources.memory_bytes  # no swap beyond the limit
    if resources.cpu:
        limits["nano_cpus"] = int(resources.cpu * 1e9)
    if resources.shm_size:
        from flowyml.backend import parse_memory

        limits["shm_size"] = parse_memory(resources.shm_size)
    if resources.gpu:
        limits["device_requests"] = [DeviceRequest(count=resources.gpu, capabilities=[["gpu"]])]
    return limits


def parse_mounts(mounts: list[str]) -> dict[str, dict[str, str]]:
    """``HOST:CONTAINER[:MODE]`` strings as docker SDK ``volumes``.

    Raises:
        ConfigError: a mount is malformed or its host path is relative.
    """
    volumes: dict[str, dict[str, str]] = {}
    for mount in mounts:
        parts = mount.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ConfigError(f"mount {mount!r} must look like HOST:CONTAINER or HOST:CONTAINER:ro")
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("ro", "rw") or not os.path.isabs(parts[0]):
            raise ConfigError(f"mount {mount!r}: the host path must be absolute, mode ro or rw")
        volumes[parts[0]] = {"bind": parts[1], "mode": mode}
    return volumes


def stop_containers(client: Any, ids: list[str], graceful: bool, grace: float) -> None:
    """SIGTERM then SIGKILL after ``grace`` seconds (or SIGKILL at once) each container."""
    from docker.errors import NotFound

    def stop(container_id: str) -> None:
        try:
            container = client.containers.get(container_id)
            if graceful:
                container.stop(timeout=round(grace))
            else:
                container.kill()
        except NotFound:
            return  # finished and removed meanwhile
        except engine_errors():
            return  # not running any more (409): nothing left to stop

    threads = [threading.Thread(target=stop, args=(cid,), daemon=True) for cid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def container_name(run_id: str, group: str) -> str:
    """A readable, unique container name for a run's group."""
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"{run_id}-{group}").strip("-.")[:80]
    return f"flowyml-{slug}-{random_tokens.token_hex(2)}"
