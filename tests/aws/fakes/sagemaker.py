"""``FakeSageMaker``: a loopback SageMaker whose training jobs really run on Docker.

A real ``boto3.client("sagemaker", endpoint_url=fake.endpoint)`` talks to it over the
JSON 1.1 protocol (:mod:`.json_protocol`). Served operations: ``CreateTrainingJob``,
``DescribeTrainingJob``, ``StopTrainingJob``, ``ListTrainingJobs``, ``AddTags``,
``ListTags``; any other answers ``UnknownOperationException``. Every request is checked
against botocore's model of the operation, logged (:class:`RequestLog`) and counted, and
may be answered by an armed fault (:class:`Faults`) instead of being served.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .account import ECR_REGISTRY, LOCAL_REGISTRY
from .containers import ContainerLauncher
from .faults import Faults
from .job_runner import JobRunner, RunnerSettings
from .json_protocol import AwsError, JsonServer, error_body, validation_error
from .moto_server import boto3_client
from .request_log import RequestLog
from .service_model import check_request, validation_message
from .training_jobs import TERMINAL_STATUSES, JobTable, TrainingJob
from .training_requests import check_create_training_job

__all__ = ["FakeSageMaker"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSageMaker:
    """The fake SageMaker API server and its jobs.

    Args:
        docker_client: A ``docker.DockerClient`` of the engine that runs the jobs.
        logs_client: Makes a boto3 ``logs`` client of the moto server (job output goes there).
        settings: How jobs are run (network mode, grace, memory limits).
        image_map: Image prefix rewrites; default ECR of the test account → 127.0.0.1:5000.
    """

    def __init__(
        self,
        docker_client: Any,
        logs_client: Callable[[], Any],
        settings: RunnerSettings | None = None,
        image_map: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or RunnerSettings()
        self.server_id = uuid.uuid4().hex[:12]
        self.jobs = JobTable()
        self.faults = Faults()
        self.requests = RequestLog()
        self.launcher = ContainerLauncher(
            docker_client,
            self.server_id,
            image_map={ECR_REGISTRY: LOCAL_REGISTRY} if image_map is None else image_map,
            network_mode=self.settings.network_mode,
        )
        self.runner = JobRunner(self.jobs, self.launcher, logs_client, self.settings)
        self._http = JsonServer("SageMaker", self._dispatch)
        self._operations: dict[str, Handler] = {
            "CreateTrainingJob": self._create,
            "DescribeTrainingJob": self._describe,
            "StopTrainingJob": self._stop,
            "ListTrainingJobs": self.jobs.list,
            "AddTags": self._add_tags,
            "ListTags": self._list_tags,
        }

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        return self._http.endpoint

    def start(self) -> str:
        """Start serving; return the endpoint URL."""
        return self._http.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Kill unfinished jobs, wait for their threads, stop serving."""
        self.runner.stop_all()
        self.runner.join(timeout)
        self._http.stop()

    def reset(self) -> None:
        """Forget faults, the request log, counters and finished jobs."""
        self.faults.reset()
        self.requests.clear()
        self.jobs.forget_finished()

    def client(self, **config: Any) -> Any:
        """A real boto3 ``sagemaker`` client of this fake (``Config`` arguments as keywords)."""
        return boto3_client("sagemaker", self.endpoint, **config)

    def call_count(self, operation: str, *, job_name: str | None = None) -> int:
        """Calls of ``operation`` since the last reset (failed ones included)."""
        return self.requests.count(operation, job_name=job_name)

    def call_counts(self) -> dict[str, int]:
        """Every operation's call count since the last reset."""
        return self.requests.counts()

    def job(self, name: str) -> TrainingJob:
        """The job record called ``name`` (for tests; raises ``AwsError`` if unknown)."""
        return self.jobs.get(name)

    def _dispatch(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            fault = self.faults.check(operation, body)
            if fault is not None:
                raise fault
            handler = self._operations.get(operation)
            if handler is None:
                raise AwsError(
                    "UnknownOperationException", f"The fake SageMaker does not serve {operation}"
                )
            if operation != "CreateTrainingJob":  # which checks more, in its own handler
                errors = check_request(operation, body)
                if errors:
                    raise validation_error(validation_message(errors))
            status, answer = 200, handler(body)
        except AwsError as error:
            status, answer = error.status, error_body(error)
        self.requests.add(operation, body, status, answer.get("__type"))
        return status, answer

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        check_create_training_job(body)
        role_error = self.faults.check_role(body["RoleArn"])
        if role_error is not None:
            raise role_error
        job = self.jobs.add(body)
        self.runner.submit(job)
        return {"TrainingJobArn": job.arn}

    def _describe(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.jobs.describe(self.jobs.get(body["TrainingJobName"]))

    def _stop(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs.get(body["TrainingJobName"])
        with self.jobs.lock:
            if job.status in TERMINAL_STATUSES:
                raise validation_error(
                    f"The request was rejected because the training job is in status {job.status}."
                )
            self.runner.stop(job)
        return {}

    def _add_tags(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs.by_arn(body["ResourceArn"])
        with self.jobs.lock:
            added = {tag["Key"]: tag for tag in body["Tags"]}
            job.tags = [t for t in job.tags if t["Key"] not in added] + list(added.values())
            return {"Tags": list(body["Tags"])}

    def _list_tags(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs.by_arn(body["ResourceArn"])
        with self.jobs.lock:
            return {"Tags": [dict(tag) for tag in job.tags]}
