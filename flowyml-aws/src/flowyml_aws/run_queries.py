"""What SageMaker tells of a run of another process: its jobs, their status and logs.

A run's jobs are found by the prefix of their names (:func:`~flowyml_aws.job_request.
run_prefix`, through ``ListTrainingJobs``' ``NameContains``) and confirmed by their
``flowyml:run-id`` tag, which also gives each job's group.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import BackendError, ExecutionStatus, LogEntry
from flowyml_aws.clients import AwsClients, error_code
from flowyml_aws.job_logs import LogCursor
from flowyml_aws.job_request import TAG_GROUP, TAG_RUN_ID, run_prefix, tag_value
from flowyml_aws.job_states import status_of

__all__ = ["JobQueries"]

_ACTIVE = ("InProgress", "Stopping")


class JobQueries:
    """Reads and stops the training jobs of a run, by run id."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    def run_jobs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Job name -> its summary plus ``group``, for every job tagged with ``run_id``."""
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {"NameContains": run_prefix(run_id), "MaxResults": 100}
        while True:
            page = self.clients.call(
                "sagemaker",
                "list_training_jobs",
                f"list the training jobs of run {run_id}",
                **request,
            )
            for summary in page.get("TrainingJobSummaries", []):
                tags = self.clients.call(
                    "sagemaker",
                    "list_tags",
                    f"list the tags of {summary['TrainingJobName']}",
                    ResourceArn=summary["TrainingJobArn"],
                ).get("Tags", [])
                values = {t["Key"]: t["Value"] for t in tags}
                if values.get(TAG_RUN_ID) == tag_value(run_id):
                    found[summary["TrainingJobName"]] = {**summary, "group": values.get(TAG_GROUP)}
            token = page.get("NextToken")
            if not token:
                return found
            request["NextToken"] = token

    def run_status(self, run_id: str) -> ExecutionStatus | None:
        """RUNNING while a job of the run is active, else the worst end, else ``None``."""
        jobs = self.run_jobs(run_id)
        if not jobs:
            return None
        statuses = [j["TrainingJobStatus"] for j in jobs.values()]
        if any(s in _ACTIVE for s in statuses):
            return ExecutionStatus.RUNNING
        if "Failed" in statuses:
            return ExecutionStatus.FAILED
        if "Stopped" in statuses:
            return ExecutionStatus.CANCELLED
        return ExecutionStatus.SUCCESS

    def run_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Group -> facts of its newest job."""
        groups: dict[str, dict[str, Any]] = {}
        jobs = sorted(self.run_jobs(run_id).items(), key=lambda it: it[1]["CreationTime"])
        for name, job in jobs:
            groups[str(job["group"])] = {
                "job_name": name,
                "status": status_of(job["TrainingJobStatus"]).value,
                "state": job["TrainingJobStatus"],
                "submitted_at": job["CreationTime"].isoformat(),
            }
        return groups

    def run_log_entries(self, run_id: str) -> list[LogEntry]:
        """What the run's jobs wrote to CloudWatch Logs."""
        entries: list[LogEntry] = []
        for name, job in self.run_jobs(run_id).items():
            entries += LogCursor(name, job["group"]).poll(self.clients)
        return entries

    def stop_run_jobs(self, run_id: str) -> list[str]:
        """Stop every active job of the run; the names of those stopped."""
        stopped = []
        for name, job in self.run_jobs(run_id).items():
            if job["TrainingJobStatus"] != "InProgress":
                continue
            try:
                self.clients.call(
                    "sagemaker",
                    "stop_training_job",
                    f"stop training job {name}",
                    TrainingJobName=name,
                )
            except BackendError as exc:
                if error_code(exc.__cause__) != "ValidationException":
                    raise
                continue  # it ended meanwhile
            stopped.append(name)
        return stopped
