"""Clean-up after a ``docker`` run whose owning process died: its containers are removed.

The process that submits a run waits for each container and removes it once its end is
read. When that process is killed (SIGKILL, the OOM killer), its containers run on with
nobody waiting for them. The next reader of the run store marks such a run ``crashed``
and calls the ``flowyml_run_crashed`` hook (see :mod:`flowyml_docker.plugin`), which
removes every container labelled with the run's id here.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import BackendError, ConfigError
from flowyml_docker.engine import connect, managed_containers

__all__ = ["engine_hosts", "remove_run_containers"]

# Seconds an engine may take to answer: a reader of the run store waits for this.
CLEANUP_TIMEOUT = 10.0


def engine_hosts() -> list[str | None]:
    """The engines a run of this project may have used: the default one (``None``:
    ``DOCKER_HOST`` or the local socket), then each ``docker_host`` of a docker stack.

    The hook is not told the run's stack, so every engine the project names is searched.
    """
    from flowyml.backend import load_config

    hosts: list[str | None] = [None]
    try:
        stacks = load_config().stacks.values()
    except ConfigError:
        # The run store was readable, so the run's reader got this far without this file;
        # the default engine is still searched.
        return hosts
    for stack in stacks:
        host = stack.settings.get("docker_host") if stack.backend == "docker" else None
        if isinstance(host, str) and host and host not in hosts:
            hosts.append(host)
    return hosts


def remove_run_containers(run_id: str, hosts: list[str | None] | None = None) -> list[str]:
    """Remove (force) every container labelled with ``run_id``, on each engine in ``hosts``.

    Args:
        run_id: the crashed run.
        hosts: engine URLs (default: :func:`engine_hosts`).

    Returns:
        The names of the containers removed.

    Raises:
        docker.errors.APIError: an engine refused a removal for another reason than the
            container being gone or already being removed.
    """
    removed: list[str] = []
    for host in engine_hosts() if hosts is None else hosts:
        try:
            client = connect(host, timeout=CLEANUP_TIMEOUT)
        except BackendError:
            # Nothing can be removed from an engine nobody can reach, and nothing else is
            # lost by skipping it: the run is recorded crashed either way, and a container
            # that outlives it has no restart policy, so it only finishes its step, writes
            # outputs no record points to, and stays exited under its run's label.
            continue
        try:
            removed += _remove_from(client, run_id)
        finally:
            client.close()
    return removed


def _remove_from(client: Any, run_id: str) -> list[str]:
    import requests
    from docker.errors import APIError, NotFound

    removed: list[str] = []
    try:
        containers = managed_containers(client, run_id)
    except (requests.RequestException, OSError):
        return removed  # the engine went away since it answered: as unreachable above
    for container in containers:
        try:
            container.remove(force=True)
        except NotFound:
            continue  # removed meanwhile: what this call wants
        except APIError as exc:
            if exc.status_code == 409:
                continue  # its removal is already in progress
            raise
        except (requests.RequestException, OSError):
            return removed  # the engine went away mid-way: as unreachable above
        removed.append(container.name)
    return removed
