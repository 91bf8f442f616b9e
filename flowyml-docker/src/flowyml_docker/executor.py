"""The ``DockerExecutor``: each step or step group runs as one container.

A thin :class:`~flowyml.backend.TaskExecutor`: the core writes the group's task to
the artifact store and reads the result manifest back; this module only runs
``flowyml step-runner`` in a container — labelled with the run and group, limited by the
group's ``ResourceConfig``, with a local artifact store bind-mounted at the same path so
``file://`` URIs mean the same on both sides — waits for it, and removes it once its
exit code and logs are read.
"""

from __future__ import annotations

import os
import secrets as random_tokens
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field, SecretStr

from flowyml.backend import (
    ArtifactStore,
    ExecutionResult,
    ExecutionStatus,
    ExecutorConfig,
    LaunchOutcome,
    LocalArtifactStore,
    ResourceConfig,
    ResourceUsage,
    RunTracker,
    TaskExecutor,
    describe_exit,
    now_iso,
)
from flowyml_docker.containers import container_limits, container_name, parse_mounts
from flowyml_docker.engine import (
    LABEL_GROUP,
    LABEL_MANAGED,
    LABEL_PIPELINE,
    LABEL_RUN_ID,
    LABEL_SECRET_ENV,
    LABEL_STEPS,
    connect,
    engine_errors,
)
from flowyml_docker.secrets import Redactor

__all__ = ["DockerExecutor", "DockerExecutorConfig"]

OOM_REASON = "was killed for exceeding its memory limit (OOM)"


def _not_started(tracker: RunTracker, group: str) -> LaunchOutcome:
    tracker.update(group, status=ExecutionStatus.CANCELLED, error="not started: run stopped")
    return LaunchOutcome(
        -signal.SIGTERM, reason="was not started: the run was stopped", cancelled=True
    )


class DockerExecutorConfig(ExecutorConfig):
    """Settings of the ``DockerExecutor``.

    Attributes:
        image: the image to run (it must contain flowyml and the project).
        max_parallel: how many containers may run at once.
        network_mode: the containers' network (``"none"``, ``"bridge"``, ``"host"``...).
        stop_grace_seconds: seconds between SIGTERM and SIGKILL when stopping.
        docker_host: the engine URL; default ``DOCKER_HOST`` or the local socket.
        mounts: extra bind mounts, ``"HOST:CONTAINER[:ro|rw]"``.
        env: environment variables of the containers.
        secret_env: secret environment variables (never logged or recorded).
        workdir: the project's folder in the image.
        pipeline_ref: the pipeline's reference inside the image.
        user: ``UID:GID`` the containers run as (default: the caller's).
    """

    image: str
    max_parallel: int = Field(default=2, ge=1, le=256)
    network_mode: str = "none"
    stop_grace_seconds: float = Field(default=10.0, ge=0)
    docker_host: str | None = None
    mounts: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    secret_env: dict[str, SecretStr] = Field(default_factory=dict)
    workdir: str = "/app"
    pipeline_ref: str | None = None
    user: str | None = None


class DockerExecutor(TaskExecutor):
    """Runs each step or step group in a container through the step runner.

    Args:
        image: the image to run; it must contain flowyml and the project.
        max_parallel: how many containers may run at once.
        network_mode: the containers' network.
        stop_grace_seconds: seconds between SIGTERM and SIGKILL on a timeout.
        docker_host: the engine URL.
        mounts: extra bind mounts, ``"HOST:CONTAINER[:ro|rw]"``.
        env: environment variables.
        secret_env: secret environment variables: passed to the containers, masked in
            every log line, error and traceback that comes back.
        workdir: the project's folder in the image.
        pipeline_ref: the pipeline's reference inside the image (else each step's own).
        user: ``UID:GID`` the containers run as (default: the caller's, so files they
            write to a mounted artifact store belong to the caller).
        default_resources: resources of groups that ask for none.
        tracker: the run tracker of the orchestrator that owns this executor.
    """

    name = "docker"
    config_model = DockerExecutorConfig

    def __init__(
        self,
        image: str,
        max_parallel: int = 2,
        network_mode: str = "none",
        stop_grace_seconds: float = 10.0,
        docker_host: str | None = None,
        mounts: list[str] | None = None,
        env: dict[str, str] | None = None,
        secret_env: dict[str, SecretStr] | dict[str, str] | None = None,
        workdir: str = "/app",
        pipeline_ref: str | None = None,
        user: str | None = None,
        default_resources: ResourceConfig | None = None,
        tracker: RunTracker | None = None,
    ) -> None:
        self.image = image
        self.max_workers = max_parallel
        self.network_mode = network_mode
        self.stop_grace_seconds = stop_grace_seconds
        self.docker_host = docker_host
        self.volumes = parse_mounts(list(mounts or []))
        self.env = dict(env or {})
        self._secret_env = {
            k: v.get_secret_value() if isinstance(v, SecretStr) else str(v)
            for k, v in (secret_env or {}).items()
        }
        self.redactor = Redactor(self._secret_env.values())
        self.workdir = workdir
        self.pipeline_ref = pipeline_ref
        self.user = user or (f"{os.getuid()}:{os.getgid()}" if hasattr(os, "getuid") else None)
        self.default_resources = default_resources
        self._tracker = tracker
        # Set by the orchestrator when the run echoes step output: (group, lines) -> None.
        self.step_output: Callable[[str, str], None] | None = None
        self._trackers: dict[str, RunTracker] = {}
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    # -- engine ------------------------------------------------------------------------
    def client(self, streaming: bool = False) -> Any:
        """The docker client (``streaming``: one without a read timeout, for log streams)."""
        key = "stream" if streaming else "api"
        with self._lock:
            if key not in self._clients:
                pool = max(10, 4 * self.max_workers)
                timeout = None if streaming else 60.0
                self._clients[key] = connect(self.docker_host, timeout=timeout, pool_size=pool)
            return self._clients[key]

    def tracker(self, run_id: str) -> RunTracker:
        """The tracker of ``run_id`` (the orchestrator's, or one of this executor's own)."""
        if self._tracker is not None:
            return self._tracker
        with self._lock:
            if run_id not in self._trackers:
                self._trackers[run_id] = RunTracker(
                    run_id, backend="docker", handle_key="container_id", redact=self.redactor.text
                )
            return self._trackers[run_id]

    # -- the TaskExecutor contract ----------------------------------------------------------
    def run_steps(
        self,
        steps: list[Any],
        inputs: dict[str, Any],
        params: dict[str, dict[str, Any]],
        artifact_store: ArtifactStore | None,
        run_id: str | None,
        project_name: str,
        *,
        group: str,
        timeout: float | None,
        resources: Any = None,
        pipeline_ref: str | None = None,
    ) -> list[ExecutionResult]:
        """Run the steps in one container; results come back with secrets masked."""
        run_id = run_id or "adhoc-" + random_tokens.token_hex(4)
        self.tracker(run_id).group(group, [s.name for s in steps])
        results = super().run_steps(
            steps,
            inputs,
            params,
            artifact_store,
            run_id,
            project_name,
            group=group,
            timeout=timeout,
            resources=resources,
            pipeline_ref=pipeline_ref or self.pipeline_ref,
        )
        return [self.redactor.result(r) for r in results]

    def launch(
        self,
        args: list[str],
        *,
        run_id: str,
        group: str,
        timeout: float | None,
        artifact_store: ArtifactStore,
        resources: Any,
    ) -> LaunchOutcome:
        """Run the step runner in a container, wait for it, read its end, remove it."""
        tracker = self.tracker(run_id)
        record = tracker.group(group)
        if tracker.is_cancelled():
            return _not_started(tracker, group)
        limits = (resources or ResourceConfig()).with_defaults(self.default_resources)
        client = self.client()
        volumes = dict(self.volumes)
        if isinstance(artifact_store, LocalArtifactStore):
            store_dir = str(artifact_store.path)
            volumes[store_dir] = {"bind": store_dir, "mode": "rw"}
        labels = {
            LABEL_MANAGED: "1",
            LABEL_RUN_ID: run_id,
            LABEL_GROUP: group,
            LABEL_STEPS: ",".join(record.steps),
            LABEL_PIPELINE: tracker.pipeline,
            # Names only: lets another process mask these values in the container's logs.
            LABEL_SECRET_ENV: ",".join(sorted(self._secret_env)),
        }
        tracker.update(
            group,
            status=ExecutionStatus.PROVISIONING,
            submitted_at=now_iso(),
            resources=limits.model_dump(exclude_defaults=True),
        )
        try:
            container = client.containers.create(
                self.image,
                command=["flowyml", *args],
                name=container_name(run_id, group),
                labels=labels,
                environment={**self.env, **self._secret_env},
                network_mode=self.network_mode,
                working_dir=self.workdir,
                user=self.user,
                init=True,  # an init as PID 1 passes SIGTERM on to the step runner
                volumes=volumes,
                detach=True,
                **container_limits(limits),
            )
        except engine_errors() as exc:
            reason = f"could not get a container: {self.redactor.text(str(exc))}"
            tracker.update(group, status=ExecutionStatus.FAILED, error=reason)
            return LaunchOutcome(125, reason=reason)
        try:
            return self._run(container, tracker, group, timeout, limits)
        except engine_errors() as exc:  # removed from outside, or the engine went away
            reason = f"lost its container: {self.redactor.text(str(exc))}"
            tracker.update(group, status=ExecutionStatus.FAILED, error=reason)
            return LaunchOutcome(125, reason=reason)
        finally:
            self._remove(container)

    # -- one container -----------------------------------------------------------------------
    def _run(
        self,
        container: Any,
        tracker: RunTracker,
        group: str,
        timeout: float | None,
        limits: ResourceConfig,
    ) -> LaunchOutcome:
        created = tracker.handle_created(
            group, container.id, container_name=container.name, image=self.image
        )
        if not created:
            return _not_started(tracker, group)
        started = time.monotonic()
        try:
            container.start()
        except engine_errors() as exc:
            failure = f"could not start its container: {self.redactor.text(str(exc))}"
            tracker.update(group, status=ExecutionStatus.FAILED, error=failure)
            return LaunchOutcome(125, reason=failure)
        if tracker.is_cancelled():
            # stop_run listed the containers between our check and this start: stop it here.
            container.kill()
        tracker.update(group, status=ExecutionStatus.RUNNING)
        tracker.log(f"container {container.name} started ({self.image})", group)
        follower = threading.Thread(
            target=self._follow_logs, args=(container.id, group, tracker), daemon=True
        )
        follower.start()
        timed_out = threading.Event()
        timer = None
        if timeout:
            timer = threading.Timer(timeout, self._time_out, args=(container, timed_out))
            timer.daemon = True
            timer.start()
        try:
            container.wait(timeout=None)
        finally:
            if timer is not None:
                timer.cancel()
        inspected = container.client.api.inspect_container(container.id)
        state = inspected["State"]
        follower.join(timeout=5)
        logs = container.logs(stdout=True, stderr=True).decode(errors="replace")
        code = int(state.get("ExitCode", -1))
        oom = bool(state.get("OOMKilled"))
        reason: str | None = None
        status = ExecutionStatus.SUCCESS if code == 0 else ExecutionStatus.FAILED
        if oom:
            memory = f" of {limits.memory}" if limits.memory else ""
            reason = OOM_REASON.replace("limit", f"limit{memory}")
        elif tracker.is_cancelled() and code != 0:
            reason = f"was cancelled: its run was stopped (container {describe_exit(code)})"
            status = ExecutionStatus.CANCELLED
        tracker.update(
            group,
            status=status,
            timed_out=timed_out.is_set(),
            exit_code=code,
            oom_killed=oom,
            started_at=state.get("StartedAt"),
            finished_at=state.get("FinishedAt"),
            error=reason or (None if code == 0 else f"container {describe_exit(code)}"),
        )
        severity = "INFO" if code == 0 else "ERROR"
        tracker.log(f"container {container.name} {reason or describe_exit(code)}", group, severity)
        limit = (inspected.get("HostConfig") or {}).get("Memory") or None
        return LaunchOutcome(
            code,
            logs,
            timed_out.is_set() and not oom,
            reason,
            cancelled=status is ExecutionStatus.CANCELLED,
            usage=ResourceUsage.killed_for_memory(limit, time.monotonic() - started)
            if oom
            else None,
        )

    def _time_out(self, container: Any, flag: threading.Event) -> None:
        flag.set()
        try:
            container.stop(timeout=round(self.stop_grace_seconds))
        except engine_errors():
            return  # it ended on its own meanwhile

    def _follow_logs(self, container_id: str, group: str, tracker: RunTracker) -> None:
        """Feed the tracker the container's output, line by line, as it is printed."""
        pending = b""
        try:
            stream = self.client(streaming=True).api.logs(
                container_id, stream=True, follow=True, timestamps=True
            )
            for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._emit(line, group, tracker)
        except engine_errors():
            return  # the container is gone: its full output is read once it has ended
        if pending:
            self._emit(pending, group, tracker)

    def _emit(self, line: bytes, group: str, tracker: RunTracker) -> None:
        stamp, _, text = line.decode(errors="replace").rstrip("\r").partition(" ")
        tracker.log(text, group, timestamp=stamp)
        if self.step_output is not None:  # the run echoes what steps print, live
            self.step_output(group, tracker.redact(text) + "\n")

    def _remove(self, container: Any) -> None:
        try:
            container.remove(force=True)
        except engine_errors():
            return  # already removed (e.g. by hand): nothing is left behind
