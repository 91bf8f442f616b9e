"""A fake Vertex AI ``JobService`` on 127.0.0.1 that really runs each CustomJob's container.

Serves ``google.cloud.aiplatform.v1.JobService`` — CreateCustomJob, GetCustomJob,
ListCustomJobs, CancelCustomJob, DeleteCustomJob — and ``google.longrunning.Operations``
GetOperation (for DeleteCustomJob's operation) to the real ``JobServiceClient`` over an
insecure channel. Jobs run on the local Docker engine (see :mod:`.job_runner`); their lines
go to :attr:`FakeVertex.log_store`, which :class:`~.logging.FakeLogging` serves.

Deviations from Google, on purpose: resource names keep the project as given (Google
answers with the project *number*); DeleteCustomJob deletes at once and returns an
operation that is already done; only the first worker pool's single replica runs.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
from google.cloud import aiplatform_v1
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2

from .containers import ContainerLauncher
from .faults import Scope
from .grpc_loopback import LoopbackService, Rpc, RpcAbort, project_of
from .job_runner import JobRunner, RunnerSettings
from .log_store import LogStore
from .vertex_jobs import TERMINAL_STATES, JobTable
from .vertex_requests import parse_job_name, parse_parent, validate_custom_job

__all__ = ["JOB_SERVICE", "OPERATIONS_SERVICE", "FakeVertex"]

JOB_SERVICE = "google.cloud.aiplatform.v1.JobService"
OPERATIONS_SERVICE = "google.longrunning.Operations"


class FakeVertex(LoopbackService):
    """Vertex AI's JobService for CustomJobs, backed by Docker containers.

    Args:
        docker_client: A ``docker.DockerClient`` of the engine that runs the jobs.
        log_store: Where job output goes; a new store if None.
        image_map: Image URI prefix rewrites, e.g.
            ``{"europe-west1-docker.pkg.dev/p/repo": "localhost:5000/repo"}``.
        network_mode: Docker network mode of job containers; ``host`` lets jobs reach
            servers on 127.0.0.1 (the GCS emulator).
        settings: Queue delay, cancel grace period, memory limits (see
            :class:`RunnerSettings`).
    """

    def __init__(
        self,
        docker_client: Any,
        *,
        log_store: LogStore | None = None,
        image_map: Mapping[str, str] | None = None,
        network_mode: str = "host",
        settings: RunnerSettings | None = None,
    ) -> None:
        super().__init__()
        self.server_id = uuid.uuid4().hex[:12]
        self.log_store = log_store if log_store is not None else LogStore()
        self.jobs = JobTable()
        self.launcher = ContainerLauncher(docker_client, self.server_id, image_map, network_mode)
        self.runner = JobRunner(
            self.jobs, self.launcher, self.log_store, settings or RunnerSettings()
        )
        self._operations: dict[str, Any] = {}
        self._operation_ids = itertools.count(1)

    def rpcs(self) -> Sequence[Rpc]:
        """The JobService methods, and GetOperation of google.longrunning.Operations."""
        jobs = aiplatform_v1

        def job_rpc(name: str, handler: Any, request: Any, response: Any, scope: Any) -> Rpc:
            return Rpc(JOB_SERVICE, name, handler, request.deserialize, response.serialize, scope)

        return (
            job_rpc(
                "CreateCustomJob",
                self._create,
                jobs.CreateCustomJobRequest,
                jobs.CustomJob,
                lambda request: Scope(
                    project_of(request.parent), request.custom_job.job_spec.service_account
                ),
            ),
            job_rpc(
                "GetCustomJob", self._get, jobs.GetCustomJobRequest, jobs.CustomJob, self._scope
            ),
            job_rpc(
                "ListCustomJobs",
                self._list,
                jobs.ListCustomJobsRequest,
                jobs.ListCustomJobsResponse,
                lambda request: Scope(project_of(request.parent)),
            ),
            Rpc(
                JOB_SERVICE,
                "CancelCustomJob",
                self._cancel,
                jobs.CancelCustomJobRequest.deserialize,
                empty_pb2.Empty.SerializeToString,
                self._scope,
            ),
            Rpc(
                JOB_SERVICE,
                "DeleteCustomJob",
                self._delete,
                jobs.DeleteCustomJobRequest.deserialize,
                operations_pb2.Operation.SerializeToString,
                self._scope,
            ),
            Rpc(
                OPERATIONS_SERVICE,
                "GetOperation",
                self._get_operation,
                operations_pb2.GetOperationRequest.FromString,
                operations_pb2.Operation.SerializeToString,
                lambda request: Scope(project_of(request.name)),
            ),
        )

    def stop(self) -> None:
        """Stop serving, kill every running job and remove every container this server made."""
        super().stop()
        self.runner.cancel_all()
        self.runner.join(timeout=15)
        for container in self.launcher.leftovers():
            self.launcher.remove(container)

    def reset(self) -> None:
        """Forget faults, call counts, finished jobs and their operations (between tests)."""
        self.faults.reset()
        with self.jobs.lock:
            for record in self.jobs.records():
                if record.finished.is_set():
                    self.jobs.remove(record)
            self._operations.clear()

    def wait_for_job(self, name: str, timeout: float = 30.0) -> Any:
        """Block until the job is terminal (its container gone) and return a copy of it.

        Raises:
            TimeoutError: If the job is still unfinished after ``timeout`` seconds.
            KeyError: If no such job exists.
        """
        record = self.jobs.find(name)
        if record is None:
            raise KeyError(name)
        if not record.finished.wait(timeout):
            state = self.jobs.snapshot(record).state.name
            raise TimeoutError(f"{name} still {state} after {timeout} s")
        return self.jobs.snapshot(record)

    def _scope(self, request: Any) -> Scope:
        record = self.jobs.find(request.name)
        account = record.job.job_spec.service_account if record is not None else None
        return Scope(project_of(request.name), account)

    def _create(self, request: Any) -> Any:
        project, location = parse_parent(request.parent)
        validate_custom_job(request.custom_job)
        record = self.jobs.add(project, location, request.custom_job)
        created = self.jobs.snapshot(record)  # as created: QUEUED, whatever happens next
        self.runner.submit(record)
        return created

    def _get(self, request: Any) -> Any:
        return self.jobs.snapshot(self.jobs.get(request.name))

    def _list(self, request: Any) -> Any:
        parse_parent(request.parent)
        page, token = self.jobs.list(
            request.parent, request.filter, request.page_size, request.page_token
        )
        return aiplatform_v1.ListCustomJobsResponse(custom_jobs=page, next_page_token=token)

    def _cancel(self, request: Any) -> Any:
        record = self.jobs.get(request.name)
        with self.jobs.lock:
            if record.job.state in TERMINAL_STATES:
                raise RpcAbort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"The CustomJob {request.name} is in state {record.job.state.name} "
                    "and cannot be cancelled.",
                )
            self.runner.cancel(record)
        return empty_pb2.Empty()

    def _delete(self, request: Any) -> Any:
        name = parse_job_name(request.name)
        record = self.jobs.get(request.name)
        with self.jobs.lock:
            if not record.finished.is_set():
                raise RpcAbort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"The CustomJob {request.name} is in state {record.job.state.name}; "
                    "only a finished job can be deleted: cancel it and wait first.",
                )
            self.jobs.remove(record)
            now = datetime.now(UTC)
            metadata = aiplatform_v1.DeleteOperationMetadata(
                generic_metadata=aiplatform_v1.GenericOperationMetadata(
                    create_time=now, update_time=now
                )
            )
            operation = operations_pb2.Operation(
                name=f"{name.parent}/operations/{next(self._operation_ids)}", done=True
            )
            operation.metadata.Pack(aiplatform_v1.DeleteOperationMetadata.pb(metadata))
            operation.response.Pack(empty_pb2.Empty())
            self._operations[operation.name] = operation
        return operation

    def _get_operation(self, request: Any) -> Any:
        with self.jobs.lock:
            operation = self._operations.get(request.name)
        if operation is None:
            raise RpcAbort(
                grpc.StatusCode.NOT_FOUND, f"The operation {request.name} does not exist."
            )
        return operation
