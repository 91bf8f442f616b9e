"""The fake SageMaker's use of the local Docker engine: images, containers, their output.

A job's ``TrainingImage`` is first rewritten by the configured prefix map (by default
``<account>.dkr.ecr.<region>.amazonaws.com`` to ``127.0.0.1:5000``), then pulled if it
names a loopback registry, or else used only if the engine already has it: nothing is
ever pulled from outside the machine.

Every container carries ``flowyml-aws-fake=1`` (the only label the fakes ever remove
containers by) plus ``flowyml-aws-fake.job=<job>`` and ``flowyml-aws-fake.server=<id>``.
Containers are attached to before they start, so no output line is lost.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .account import CONTAINER_LABEL

__all__ = [
    "JOB_LABEL",
    "SERVER_LABEL",
    "ContainerLauncher",
    "ContainerSpec",
    "ImageUnavailable",
    "instance_memory_bytes",
]

JOB_LABEL = f"{CONTAINER_LABEL}.job"
SERVER_LABEL = f"{CONTAINER_LABEL}.server"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
_INSTANCE = re.compile(r"^ml\.([a-z]+\d+[a-z]*)\.(\d*)(large|xlarge)$")
# GiB of memory per vCPU of the common training families (AWS instance type tables).
_GIB_PER_VCPU = {"m4": 4.0, "m5": 4.0, "m6i": 4.0, "c4": 1.875, "c5": 2.0, "c6i": 2.0}
_GIB_PER_VCPU |= {"r5": 8.0, "r5d": 8.0, "t3": 4.0, "g4dn": 4.0, "g5": 4.0}


class ImageUnavailable(Exception):
    """A job's image cannot be pulled or found on the engine."""


def instance_memory_bytes(instance_type: str) -> int | None:
    """Memory of a SageMaker instance type such as ``ml.m5.xlarge``; None if unknown."""
    match = _INSTANCE.match(instance_type)
    if match is None or match.group(1) not in _GIB_PER_VCPU:
        return None
    multiple = int(match.group(2) or 1)
    vcpus = 2 if match.group(3) == "large" else 4 * multiple
    return int(_GIB_PER_VCPU[match.group(1)] * vcpus * 1024**3)


def is_loopback_registry(reference: str) -> bool:
    """Whether the reference names a registry on this machine's loopback interface."""
    first, slash, _ = reference.partition("/")
    if not slash:
        return False
    host = first.split("]")[0] + "]" if first.startswith("[") else first.rsplit(":", 1)[0]
    return host in _LOOPBACK_HOSTS


@dataclass(frozen=True)
class ContainerSpec:
    """What to run for one job's single instance (algo-1), resolved."""

    image: str
    entrypoint: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    memory_bytes: int | None = None


class ContainerLauncher:
    """Pulls images and runs job containers on one Docker engine.

    Args:
        client: A ``docker.DockerClient``.
        server_id: Value of the ``flowyml-aws-fake.server`` label of its containers.
        image_map: Prefix rewrites applied to image references, longest prefix first.
        network_mode: ``none`` (default: a job reaches nothing) or ``host`` (a job reaches
            the loopback fakes, e.g. moto's S3).
    """

    def __init__(
        self,
        client: Any,
        server_id: str,
        image_map: Mapping[str, str] | None = None,
        network_mode: str = "none",
    ) -> None:
        if network_mode not in ("none", "host"):
            raise ValueError(f"network_mode must be 'none' or 'host', not {network_mode!r}")
        self.client = client
        self.server_id = server_id
        self.image_map = dict(image_map or {})
        self.network_mode = network_mode

    def resolve_image(self, reference: str) -> str:
        """The image reference to use on the engine (prefix map applied)."""
        for prefix in sorted(self.image_map, key=len, reverse=True):
            if reference.startswith(prefix.rstrip("/") + "/"):
                return self.image_map[prefix].rstrip("/") + reference[len(prefix.rstrip("/")) :]
        return reference

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
                raise ImageUnavailable(str(error.explanation or error)) from error
            return
        try:
            self.client.images.get(reference)
        except docker.errors.ImageNotFound as error:
            raise ImageUnavailable(
                "not in a loopback registry nor on the engine; push it to 127.0.0.1:5000"
            ) from error

    def create(self, job_name: str, spec: ContainerSpec) -> tuple[Any, Iterator[Any]]:
        """Create (not start) the job's container and attach to its output.

        Returns:
            The container and its demultiplexed ``(stdout, stderr)`` chunk stream.
        """
        container = self.client.containers.create(
            spec.image,
            command=spec.arguments or None,
            entrypoint=spec.entrypoint or None,
            environment=spec.env,
            labels={CONTAINER_LABEL: "1", JOB_LABEL: job_name, SERVER_LABEL: self.server_id},
            network_mode=self.network_mode,
            mem_limit=spec.memory_bytes,
        )
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
        return container, stream

    @staticmethod
    def follow(stream: Iterator[Any], on_line: Callable[[str], None]) -> None:
        """Feed every complete line of ``stream`` (stdout and stderr) to ``on_line``."""
        pending = {"stdout": b"", "stderr": b""}
        for chunks in stream:
            for name, chunk in zip(("stdout", "stderr"), chunks, strict=True):
                if not chunk:
                    continue
                *lines, pending[name] = (pending[name] + chunk).split(b"\n")
                for line in lines:
                    on_line(line.decode("utf-8", "replace").rstrip("\r"))
        for rest in pending.values():
            if rest:
                on_line(rest.decode("utf-8", "replace").rstrip("\r"))

    @staticmethod
    def outcome(container: Any) -> tuple[int, bool]:
        """Wait for the container to exit; return its exit code and whether it was OOM-killed."""
        import docker.errors

        status = container.wait()
        with contextlib.suppress(docker.errors.NotFound):  # removed already: attrs stay as read
            container.reload()
        return int(status.get("StatusCode", -1)), bool(container.attrs["State"].get("OOMKilled"))

    @staticmethod
    def stop(container: Any, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds``; a container already gone is fine."""
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):  # finished meanwhile: nothing to stop
            container.stop(timeout=max(0, round(grace_seconds)))

    @staticmethod
    def remove(container: Any) -> None:
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
        """Every container (any state) of this launcher's server that still exists."""
        label = f"{SERVER_LABEL}={self.server_id}"
        return list(self.client.containers.list(all=True, filters={"label": label}))
