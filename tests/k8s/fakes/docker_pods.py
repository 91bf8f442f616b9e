"""The fake kubelet's use of the local Docker engine: images, containers, their output.

Images come from the engine, or are pulled when they name a loopback registry
(``127.0.0.1:5000/...``); nothing is pulled from outside the machine, so any other missing
image is an ``ErrImagePull``. Every container carries ``flowyml-k8s-fake=1`` plus its
server, pod and namespace, and only containers with this server's label are ever removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .pod_logs import LogBuffer

__all__ = [
    "FAKE_LABEL",
    "NAMESPACE_LABEL",
    "POD_LABEL",
    "SERVER_LABEL",
    "ContainerPlan",
    "DockerPods",
    "ImagePullError",
]

FAKE_LABEL = "flowyml-k8s-fake"
SERVER_LABEL = "flowyml-k8s-fake.server"
POD_LABEL = "flowyml-k8s-fake.pod"
NAMESPACE_LABEL = "flowyml-k8s-fake.namespace"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1"}


class ImagePullError(Exception):
    """The image cannot be had; ``reason`` is the kubelet's waiting reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _with_tag(reference: str) -> str:
    last = reference.rsplit("/", 1)[-1]
    return reference if (":" in last or "@" in reference) else f"{reference}:latest"


def _is_loopback(reference: str) -> bool:
    first, slash, _ = reference.partition("/")
    return bool(slash) and first.rsplit(":", 1)[0] in _LOOPBACK_HOSTS


@dataclass(frozen=True)
class ContainerPlan:
    """A pod's container resolved for Docker: env values read, volumes mapped to host."""

    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    memory_bytes: int | None = None
    nano_cpus: int | None = None
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)  # host, target, ro


class DockerPods:
    """Runs pod containers on one engine for one fake apiserver.

    Args:
        client: A ``docker.DockerClient``.
        server_id: Value of the ``flowyml-k8s-fake.server`` label.
        network_mode: ``none`` by default; ``host`` lets pods reach 127.0.0.1 services.
    """

    def __init__(self, client: Any, server_id: str, network_mode: str = "none") -> None:
        self.client = client
        self.server_id = server_id
        self.network_mode = network_mode

    def ensure_image(self, image: str, policy: str) -> None:
        """Make ``image`` available as ``imagePullPolicy`` says, from loopback only.

        Raises:
            ImagePullError: ``ErrImagePull`` or ``ErrImageNeverPull`` with the kubelet's
                message naming the image.
        """
        import docker.errors

        present = True
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            present = False
        except docker.errors.APIError:  # an invalid reference, e.g. upper case
            present = False
        if policy == "Never":
            if present:
                return
            raise ImagePullError(
                "ErrImageNeverPull",
                f'Container image "{image}" is not present with pull policy of Never',
            )
        if present and (policy == "IfNotPresent" or not _is_loopback(image)):
            return
        if not _is_loopback(image):
            raise ImagePullError(
                "ErrImagePull",
                f'Failed to pull image "{image}": the fake cluster reaches only loopback '
                "registries (127.0.0.1:PORT); push the image there or load it on the engine",
            )
        try:
            self.client.images.pull(_with_tag(image))
        except docker.errors.APIError as error:
            raise ImagePullError(
                "ErrImagePull", f'Failed to pull image "{image}": {error.explanation or error}'
            ) from error

    def create(self, namespace: str, pod: str, plan: ContainerPlan) -> tuple[Any, Iterator[Any]]:
        """Create (not start) the container and attach to its output before it starts."""
        from docker.types import Mount

        options: dict[str, Any] = {}
        if self.network_mode != "host":
            options["hostname"] = pod[:63]
        container = self.client.containers.create(
            plan.image,
            command=plan.args,
            entrypoint=plan.command,
            environment=plan.env,
            working_dir=plan.working_dir,
            user=plan.user,
            labels={
                FAKE_LABEL: "1",
                SERVER_LABEL: self.server_id,
                POD_LABEL: pod,
                NAMESPACE_LABEL: namespace,
            },
            network_mode=self.network_mode,
            mem_limit=plan.memory_bytes,
            memswap_limit=plan.memory_bytes,
            nano_cpus=plan.nano_cpus,
            mounts=[
                Mount(target, source, type="bind", read_only=read_only)
                for source, target, read_only in plan.mounts
            ],
            **options,
        )
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
        return container, stream

    @staticmethod
    def pump(stream: Iterator[Any], buffer: LogBuffer) -> None:
        """Copy the attached output into ``buffer`` until the container's streams close."""
        for chunks in stream:
            for name, chunk in zip(("stdout", "stderr"), chunks, strict=True):
                if chunk:
                    buffer.feed(name, chunk)

    @staticmethod
    def outcome(container: Any) -> tuple[int, bool, str | None, str | None]:
        """Wait for exit: exit code, OOM-killed, and Docker's start and finish times."""
        import docker.errors

        status = container.wait()
        with contextlib.suppress(docker.errors.NotFound):  # removed already: keep attrs
            container.reload()
        state = container.attrs.get("State", {})
        return (
            int(status.get("StatusCode", -1)),
            bool(state.get("OOMKilled")),
            state.get("StartedAt"),
            state.get("FinishedAt"),
        )

    @staticmethod
    def stop(container: Any, grace_seconds: float) -> None:
        """SIGTERM, SIGKILL after the grace period; a container already gone is fine."""
        import docker.errors

        # Exited and removed meanwhile: nothing left to stop.
        with contextlib.suppress(docker.errors.NotFound):
            container.stop(timeout=max(0, round(grace_seconds)))

    @staticmethod
    def remove(container: Any) -> None:
        """Remove the container, running or not; one already gone is fine."""
        import docker.errors

        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            return  # already removed: what we wanted
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: a removal is already in progress
                raise

    def leftovers(self) -> list[Any]:
        """Every container of this server that still exists, in any state."""
        return list(
            self.client.containers.list(
                all=True, filters={"label": f"{SERVER_LABEL}={self.server_id}"}
            )
        )
