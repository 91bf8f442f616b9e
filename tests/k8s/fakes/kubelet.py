"""The fake kubelet: one thread per bound pod that runs its container on Docker.

A pod's life: ``ContainerCreating`` → image (``ErrImagePull`` ⇄ ``ImagePullBackOff``
while it cannot be had) → env and volumes (``CreateContainerConfigError`` while a Secret
is missing) → ``running`` → ``terminated`` with the exit code and ``Completed``, ``Error``
or ``OOMKilled``. The container is removed as soon as it exits; its output stays in a
:class:`LogBuffer` until the pod is deleted. Terminating a pod stops the container with
SIGTERM, then SIGKILL after the grace period (capped by the fake's settings).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from . import pod_status
from .container_plan import ConfigError, build_plan
from .docker_pods import DockerPods, ImagePullError
from .pod_logs import LogBuffer
from .store import ObjectStore

__all__ = ["Kubelet", "PodRunner"]

_MAX_BACKOFF_SECONDS = 10.0


def _seconds(docker_time: str | None) -> str | None:
    """Docker's nanosecond RFC 3339 time cut to Kubernetes' whole seconds."""
    if not docker_time or docker_time.startswith("0001"):
        return None
    return docker_time[:19] + "Z"


@dataclass
class PodRunner:
    """The kubelet's state of one pod."""

    namespace: str
    name: str
    logs: LogBuffer
    stopping: threading.Event
    done: threading.Event
    container: Any = None
    grace_seconds: float = 0.0
    eviction: str | None = None


class Kubelet:
    """Runs bound pods; reports every status change through the store.

    Args:
        store: The object store (pods and secrets are read from it).
        docker: The Docker side.
        claims: PersistentVolumeClaim name to host directory.
        image_backoff_seconds: Time in ``ErrImagePull`` before ``ImagePullBackOff``; the
            back-off between pulls then doubles up to 10 s.
        on_changed: Called with ``(namespace, name)`` after each status change.
        on_finished: Called with ``(namespace, name)`` when a pod's runner has ended
            (container exited and removed, or never created).
    """

    def __init__(
        self,
        store: ObjectStore,
        docker: DockerPods,
        claims: dict[str, str],
        image_backoff_seconds: float,
        on_changed: Callable[[str, str], None],
        on_finished: Callable[[str, str], None],
    ) -> None:
        self.store = store
        self.docker = docker
        self.claims = claims
        self.image_backoff_seconds = image_backoff_seconds
        self.on_changed = on_changed
        self.on_finished = on_finished
        self.runners: dict[tuple[str, str], PodRunner] = {}
        self._lock = threading.Lock()

    def start(self, namespace: str, name: str) -> None:
        """Run the (bound) pod in its own thread."""
        runner = PodRunner(namespace, name, LogBuffer(), threading.Event(), threading.Event())
        with self._lock:
            self.runners[(namespace, name)] = runner
        threading.Thread(
            target=self._run, args=(runner,), name=f"fake-kubelet-{name}", daemon=True
        ).start()

    def runner(self, namespace: str, name: str) -> PodRunner | None:
        """The pod's runner, None if it was never bound or has been forgotten."""
        with self._lock:
            return self.runners.get((namespace, name))

    def forget(self, namespace: str, name: str) -> None:
        """Drop the pod's runner and its log (the pod is deleted)."""
        with self._lock:
            self.runners.pop((namespace, name), None)

    def terminate(
        self, runner: PodRunner, grace_seconds: float, eviction: str | None = None
    ) -> None:
        """Stop the pod's container: SIGTERM, SIGKILL after ``grace_seconds``."""
        with self.store.lock:
            if runner.stopping.is_set():
                return
            runner.grace_seconds = grace_seconds
            runner.eviction = eviction
            runner.stopping.set()
            container = runner.container
        if container is not None:
            threading.Thread(
                target=self.docker.stop, args=(container, grace_seconds), daemon=True
            ).start()

    def _update(self, runner: PodRunner, change: Callable[[dict[str, Any]], None]) -> None:
        if self.store.mutate("pods", runner.namespace, runner.name, change) is not None:
            self.on_changed(runner.namespace, runner.name)

    def _pull(self, runner: PodRunner, image: str, policy: str) -> bool:
        backoff = self.image_backoff_seconds
        while not runner.stopping.is_set():
            try:
                self.docker.ensure_image(image, policy)
                return True
            except ImagePullError as error:
                self._update(
                    runner,
                    partial(pod_status.set_waiting, reason=error.reason, message=error.message),
                )
                if runner.stopping.wait(self.image_backoff_seconds):
                    return False
                if error.reason == "ErrImagePull":
                    message = f'Back-off pulling image "{image}"'
                    waiting = partial(pod_status.set_waiting, reason="ImagePullBackOff")
                    self._update(runner, partial(waiting, message=message))
                runner.stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
        return False

    def _plan(self, runner: PodRunner, pod: dict[str, Any]) -> Any:
        def lookup(secret: str) -> dict[str, Any] | None:
            with self.store.lock:
                found = self.store.find("secrets", runner.namespace, secret)
                return dict(found) if found is not None else None

        while not runner.stopping.is_set():
            try:
                return build_plan(pod, self.claims, lookup)
            except ConfigError as error:
                message = str(error)
                waiting = partial(pod_status.set_waiting, reason="CreateContainerConfigError")
                self._update(runner, partial(waiting, message=message))
                runner.stopping.wait(self.image_backoff_seconds)
        return None

    def _run(self, runner: PodRunner) -> None:
        container = None
        try:
            pod = self.store.get("pods", runner.namespace, runner.name)
            spec = pod["spec"]["containers"][0]
            if not self._pull(runner, spec["image"], spec.get("imagePullPolicy", "IfNotPresent")):
                return
            plan = self._plan(runner, pod)
            if plan is None:
                return
            container, stream = self.docker.create(runner.namespace, runner.name, plan)
            pump = threading.Thread(
                target=self.docker.pump, args=(stream, runner.logs), daemon=True
            )
            pump.start()
            with self.store.lock:
                runner.container = container
                stop_now = runner.stopping.is_set()
            if stop_now:
                return  # deleted before it could start: the pod just goes away
            container.start()
            container.reload()
            started = _seconds(container.attrs["State"].get("StartedAt"))
            self._update(runner, lambda p: pod_status.set_running(p, container.id, started or ""))
            if runner.stopping.is_set():
                self.docker.stop(container, runner.grace_seconds)
            exit_code, oom, started, finished = self.docker.outcome(container)
            pump.join(timeout=10)
            reason = "Completed" if exit_code == 0 else ("OOMKilled" if oom else "Error")
            eviction = runner.eviction

            def ended(p: dict[str, Any]) -> None:
                pod_status.set_terminated(
                    p, exit_code, reason, _seconds(started), _seconds(finished)
                )
                if eviction is not None:
                    # The kubelet reports an evicted pod's end and its eviction in one
                    # status: never a plain Failed pod that is named as evicted later.
                    pod_status.set_evicted(p, eviction)

            self._update(runner, ended)
        finally:
            runner.logs.close()
            if container is not None:
                self.docker.remove(container)
            if runner.eviction is not None:
                message = runner.eviction
                self._update(runner, lambda p: pod_status.set_evicted(p, message))
            runner.done.set()
            self.on_finished(runner.namespace, runner.name)
