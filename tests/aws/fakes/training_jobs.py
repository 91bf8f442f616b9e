"""The fake SageMaker's table of training jobs: statuses, transitions, describe, list.

SageMaker reports two statuses. The primary ``TrainingJobStatus`` follows from the
secondary one, as the API reference lists them:

=============  ==========================================================
InProgress     Starting, Downloading, Training, Uploading
Stopping       Stopping
Completed      Completed
Failed         Failed
Stopped        Stopped, MaxRuntimeExceeded
=============  ==========================================================

One re-entrant lock (``JobTable.lock``) guards every record, so a status change and the
flags the runner and ``StopTrainingJob`` consult are always seen together.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .account import ACCOUNT_ID, REGION
from .json_protocol import AwsError, validation_error

__all__ = ["PRIMARY_STATUS", "TERMINAL_STATUSES", "JobTable", "TrainingJob"]

PRIMARY_STATUS = {
    "Starting": "InProgress",
    "Downloading": "InProgress",
    "Training": "InProgress",
    "Uploading": "InProgress",
    "Stopping": "Stopping",
    "Completed": "Completed",
    "Failed": "Failed",
    "Stopped": "Stopped",
    "MaxRuntimeExceeded": "Stopped",
}
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
_SORT_KEYS = {
    "Name": lambda job: job.name,
    "CreationTime": lambda job: job.created,
    "Status": lambda job: job.status,
}


@dataclass(eq=False)
class TrainingJob:
    """One job as served, and what its runner and ``StopTrainingJob`` share.

    Attributes:
        name: ``TrainingJobName``.
        request: The ``CreateTrainingJob`` body as received.
        status / secondary: ``TrainingJobStatus`` and ``SecondaryStatus``.
        transitions: ``SecondaryStatusTransitions`` (each ``Status``, ``StartTime``,
            ``EndTime`` once left, ``StatusMessage``).
        stop_requested: Set by ``StopTrainingJob`` or the server stopping.
        timed_out: Set when ``MaxRuntimeInSeconds`` ran out.
        container: The job's Docker container once it is created.
        log_stream: Its CloudWatch log stream name once the container starts.
        finished: Set once the job is terminal, its logs shipped and its container gone.
    """

    name: str
    request: dict[str, Any]
    created: datetime
    status: str = "InProgress"
    secondary: str = "Starting"
    failure_reason: str | None = None
    modified: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    stop_requested: bool = False
    timed_out: bool = False
    container: Any = None
    log_stream: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def arn(self) -> str:
        """``arn:aws:sagemaker:REGION:ACCOUNT:training-job/<lower-cased name>``."""
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:training-job/{self.name.lower()}"


class JobTable:
    """Every training job the fake knows, by name."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._jobs: dict[str, TrainingJob] = {}

    def add(self, request: dict[str, Any]) -> TrainingJob:
        """Register a validated request as a new job, InProgress/Starting.

        Raises:
            AwsError: ``ResourceInUse`` if a job of that name exists (names are unique
                per account and region, case-insensitively, finished jobs included).
        """
        name = request["TrainingJobName"]
        with self.lock:
            if name.lower() in self._jobs:
                existing = self._jobs[name.lower()]
                raise AwsError(
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, "
                    f"and a training job with this name already exists ({existing.arn})",
                )
            now = datetime.now(UTC)
            job = TrainingJob(name, request, created=now, modified=now)
            job.tags = list(request.get("Tags") or [])
            job.transitions.append(_transition("Starting", now, "Starting the training job"))
            self._jobs[name.lower()] = job
            return job

    def get(self, name: str) -> TrainingJob:
        """The job called ``name``.

        Raises:
            AwsError: ``ValidationException`` "Requested resource not found." — what the
                real service answers, although its model lists ``ResourceNotFound``.
        """
        with self.lock:
            job = self._jobs.get(str(name).lower())
        if job is None:
            raise validation_error("Requested resource not found.")
        return job

    def by_arn(self, arn: str) -> TrainingJob:
        """The job whose ARN is ``arn`` (``ValidationException`` if none)."""
        with self.lock:
            for job in self._jobs.values():
                if job.arn == arn:
                    return job
        raise validation_error(f"Resource {arn} not found.")

    def jobs(self) -> list[TrainingJob]:
        """Every job, oldest first."""
        with self.lock:
            return list(self._jobs.values())

    def forget_finished(self) -> None:
        """Drop every finished job (between tests)."""
        with self.lock:
            for key in [k for k, job in self._jobs.items() if job.finished.is_set()]:
                del self._jobs[key]

    def advance(self, job: TrainingJob, secondary: str, message: str) -> None:
        """Move ``job`` to ``secondary`` (and its primary status); terminal jobs stay put."""
        with self.lock:
            if job.status in TERMINAL_STATUSES or job.secondary == secondary:
                return
            now = datetime.now(UTC)
            if job.transitions:
                job.transitions[-1]["EndTime"] = now
            job.transitions.append(_transition(secondary, now, message))
            job.secondary = secondary
            job.status = PRIMARY_STATUS[secondary]
            job.modified = now
            if secondary == "Training" and job.started is None:
                job.started = now
            if job.status in TERMINAL_STATUSES:
                job.transitions[-1]["EndTime"] = now
                job.ended = now

    def describe(self, job: TrainingJob) -> dict[str, Any]:
        """The ``DescribeTrainingJob`` answer for ``job`` as it is now."""
        with self.lock:
            request = job.request
            answer: dict[str, Any] = {
                key: request[key]
                for key in (
                    "TrainingJobName",
                    "HyperParameters",
                    "AlgorithmSpecification",
                    "RoleArn",
                    "InputDataConfig",
                    "OutputDataConfig",
                    "ResourceConfig",
                    "VpcConfig",
                    "StoppingCondition",
                    "Environment",
                    "EnableNetworkIsolation",
                    "EnableInterContainerTrafficEncryption",
                    "EnableManagedSpotTraining",
                    "CheckpointConfig",
                    "RetryStrategy",
                    "ExperimentConfig",
                )
                if key in request
            }
            answer.update(
                TrainingJobArn=job.arn,
                TrainingJobStatus=job.status,
                SecondaryStatus=job.secondary,
                CreationTime=job.created,
                LastModifiedTime=job.modified,
                SecondaryStatusTransitions=[dict(t) for t in job.transitions],
                ModelArtifacts={"S3ModelArtifacts": _model_artifacts(job)},
            )
            if job.failure_reason is not None:
                answer["FailureReason"] = job.failure_reason
            if job.started is not None:
                answer["TrainingStartTime"] = job.started
            if job.ended is not None:
                answer["TrainingEndTime"] = job.ended
                seconds = max(1, round((job.ended - (job.started or job.ended)).total_seconds()))
                answer["TrainingTimeInSeconds"] = seconds
                answer["BillableTimeInSeconds"] = seconds
            return answer

    def summary(self, job: TrainingJob) -> dict[str, Any]:
        """The job's entry in ``ListTrainingJobs``."""
        with self.lock:
            entry: dict[str, Any] = {
                "TrainingJobName": job.name,
                "TrainingJobArn": job.arn,
                "CreationTime": job.created,
                "LastModifiedTime": job.modified,
                "TrainingJobStatus": job.status,
                "SecondaryStatus": job.secondary,
            }
            if job.ended is not None:
                entry["TrainingEndTime"] = job.ended
            return entry

    def list(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListTrainingJobs``: NameContains, StatusEquals, Creation/LastModifiedTime
        After/Before, SortBy, SortOrder, MaxResults (default 10) and NextToken."""
        jobs = [job for job in self.jobs() if _matches(job, body)]
        jobs.sort(
            key=_SORT_KEYS[body.get("SortBy", "CreationTime")],
            reverse=body.get("SortOrder", "Descending") == "Descending",
        )
        token = body.get("NextToken")
        try:
            offset = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        except ValueError as error:
            raise validation_error("Invalid pagination token") from error
        size = int(body.get("MaxResults", 10))
        answer: dict[str, Any] = {
            "TrainingJobSummaries": [self.summary(job) for job in jobs[offset : offset + size]]
        }
        if offset + size < len(jobs):
            answer["NextToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return answer


def _transition(status: str, at: datetime, message: str) -> dict[str, Any]:
    return {"Status": status, "StartTime": at, "StatusMessage": message}


def _model_artifacts(job: TrainingJob) -> str:
    output = job.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    return f"{output}/{job.name}/output/model.tar.gz"


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


def _matches(job: TrainingJob, body: dict[str, Any]) -> bool:
    if "NameContains" in body and body["NameContains"].lower() not in job.name.lower():
        return False
    if "StatusEquals" in body and job.status != body["StatusEquals"]:
        return False
    modified = job.modified or job.created
    bounds = (
        ("CreationTimeAfter", job.created, 1),
        ("CreationTimeBefore", job.created, -1),
        ("LastModifiedTimeAfter", modified, 1),
        ("LastModifiedTimeBefore", modified, -1),
    )
    for key, value, sign in bounds:
        if key in body:
            limit = _time(body[key])
            if (sign > 0 and value <= limit) or (sign < 0 and value >= limit):
                return False
    return True
