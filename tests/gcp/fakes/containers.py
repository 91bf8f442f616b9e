"""The fake Vertex AI's use of the local Docker engine: images, containers, their output.

A job's image reference is first rewritten by the configured prefix map (for instance
``europe-west1-docker.pkg.dev/PROJECT/REPO`` to ``localhost:5000/REPO``), then pulled if
it names a loopback registry (``localhost:PORT`` or ``127.0.0.1:PORT``) or else used only if
the engine already has it: nothing is ever pulled from outside the machine.

Containers are attached to before they start, so no line is lost, and carry the labels
``fake-vertex.job=<job id>`` and ``fake-vertex.server=<server id>``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "JOB_LABEL",
    "SERVER_LABEL",
    "ContainerLauncher",
    "ContainerSpec",
    "ImageUnavailable",
    "machine_memory_bytes",
]

JOB_LABEL = "fake-vertex.job"
SERVER_LABEL = "fake-vertex.server"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
_MACHINE = re.compile(r"^(n1|n2|n2d|e2|c2|c2d|c3)-(standard|highmem|highcpu)-(\d+)$")
_GIB_PER_VCPU = {"standard": 4.0, "highmem": 8.0, "highcpu": 1.0}
_N1_GIB_PER_VCPU = {"standard": 3.75, "highmem": 6.5, "highcpu": 0.9}


class ImageUnavailable(Exception):
    """A job's image cannot be pulled or found on the engine."""


def machine_memory_bytes(machine_type: str) -> int | None:
    """Memory of a Compute Engine machine type such as ``n1-standard-4``; None if unknown."""
    match = _MACHINE.match(machine_type)
    if match is None:
        return None
    family, kind, cpus = match.group(1), match.group(2), int(match.group(3))
    per_cpu = (_N1_GIB_PER_VCPU if family == "n1" else _GIB_PER_VCPU)[kind]
    return int(per_cpu * cpus * 1024**3)


def registry_host(reference: str) -> str | None:
    """The registry part of an image reference (``localhost:5000``), None for Docker Hub style."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def is_loopback_registry(reference: str) -> bool:
    """Whether the reference names a registry on this machine's loopback interface."""
    host = registry_host(reference)
    if host is None:
        return False
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in _LOOPBACK_HOSTS


@dataclass(frozen=True)
class ContainerSpec:
    """What to run for one job: the first worker pool's container, resolved."""

    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    memory_bytes: int | None = None


class ContainerLauncher:
    """Pulls images and runs job containers on one Docker engine.

    Args:
        client: A ``docker.DockerClient``.
        server_id: Value of the ``fake-vertex.server`` label of every container started.
        image_map: Prefix rewrites applied to image URIs, longest prefix first.
        network_mode: Docker network mode of job containers (``host`` reaches 127.0.0.1).
    """

    def __init__(
        self,
        client: Any,
        server_id: str,
        image_map: Mapping[str, str] | None = None,
        network_mode: str = "host",
    ) -> None:
        self.client = client
        self.server_id = server_id
        self.image_map = dict(image_map or {})
        self.network_mode = network_mode

    def resolve_image(self, image_uri: str) -> str:
        """The image reference to use on the engine for ``image_uri`` (prefix map applied)."""
        for prefix in sorted(self.image_map, key=len, reverse=True):
            if image_uri == prefix or image_uri.startswith(prefix.rstrip("/") + "/"):
                return self.image_map[prefix] + image_uri[len(prefix) :]
        return image_uri

    def prepare_image(self, reference: str) -> None:
        """Pull ``reference`` from a loopback registry, or check the engine has it.

        Raises:
            ImageUnavailable: If the pull fails or a non-loopback image is not present.
        """
        import docker.errors

        if is_loopback_registry(reference):
            try:
                self.client.images.pull(reference)
            except docker.errors.APIError as error:
                raise ImageUnavailable(f"Unable to pull the image {reference}: {error}") from error
            return
        try:
            self.client.images.get(reference)
        except docker.errors.ImageNotFound as error:
            raise ImageUnavailable(
                f"The image {reference} is neither in a loopback registry nor on the engine; "
                "push it to localhost:5000 or map its prefix with image_map"
            ) from error

    def create(self, job_id: str, spec: ContainerSpec) -> tuple[Any, Iterator[tuple[Any, Any]]]:
        """Create (not start) the job's container and attach to its output.

        Returns:
            The container and its demultiplexed ``(stdout, stderr)`` chunk stream.
        """
        container = self.client.containers.create(
            spec.image,
            command=spec.args or None,
            entrypoint=spec.command or None,
            environment=spec.env,
            labels={JOB_LABEL: job_id, SERVER_LABEL: self.server_id},
            network_mode=self.network_mode,
            mem_limit=spec.memory_bytes,
        )
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
        return container, stream

    @staticmethod
    def follow(stream: Iterator[tuple[Any, Any]], on_line: Callable[[str, str], None]) -> None:
        """Feed every complete line of ``stream`` to ``on_line(stream_name, text)`` until EOF."""
        pending = {"stdout": b"", "stderr": b""}
        for chunks in stream:
            for name, chunk in zip(("stdout", "stderr"), chunks, strict=True):
                if not chunk:
                    continue
                *lines, pending[name] = (pending[name] + chunk).split(b"\n")
                for line in lines:
                    on_line(name, line.decode("utf-8", "replace").rstrip("\r"))
        for name, rest in pending.items():
            if rest:
                on_line(name, rest.decode("utf-8", "replace").rstrip("\r"))

    @staticmethod
    def outcome(container: Any) -> tuple[int, bool]:
        """Wait for the container to exit; return its exit code and whether it was OOM-killed."""
        import docker.errors

        status = container.wait()
        with contextlib.suppress(docker.errors.NotFound):  # removed already: attrs stay as read
            container.reload()
        return int(status.get("StatusCode", -1)), bool(container.attrs["State"].get("OOMKilled"))

    def stop(self, container: Any, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds``; a container already gone is fine."""
        import docker.errors

        # Removed meanwhile (job finished, or the server is stopping): nothing to stop.
        with contextlib.suppress(docker.errors.NotFound):
            container.stop(timeout=max(0, round(grace_seconds)))

    def remove(self, container: Any) -> None:
        """Remove the container, running or not; a container already gone is fine."""
        import docker.errors

        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            return  # already removed: what we wanted
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: a removal is already in progress
                raise

    def leftovers(self) -> list[Any]:
        """Every container (any state) this launcher's server started that still exists."""
        return list(
            self.client.containers.list(
                all=True, filters={"label": f"{SERVER_LABEL}={self.server_id}"}
            )
        )
