"""What Vertex AI and Cloud Logging tell about jobs: status, details, logs, cancellation.

A run submitted by this process is answered by the core from its run tracker. For a run
of another process, the core asks the hooks of the orchestrator, which read its jobs
through their labels (``flowyml-run-id``) here; a CustomJob resource name is answered
by JobService and Cloud Logging directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flowyml.backend import BackendError, ExecutionStatus, LogEntry
from flowyml_gcp.api import GoogleApis
from flowyml_gcp.job_logs import LogCursor, entry_dict, read_entries
from flowyml_gcp.job_spec import LABEL_GROUP, LABEL_RUN_ID, label_value
from flowyml_gcp.job_states import state_name, status_of

__all__ = ["JobQueries", "is_job_name", "job_details"]


def is_job_name(job_id: str) -> bool:
    """Whether ``job_id`` is a CustomJob resource name rather than a run id."""
    return job_id.startswith("projects/") and "/customJobs/" in job_id


def _iso(stamp: Any) -> str | None:
    return stamp.isoformat() if stamp else None


def job_details(job: Any) -> dict[str, Any]:
    """A CustomJob as plain data: state, timing, machine, container, error, labels."""
    pool = job.job_spec.worker_pool_specs[0] if job.job_spec.worker_pool_specs else None
    machine: dict[str, Any] = {}
    if pool is not None:
        machine = {
            "machine_type": pool.machine_spec.machine_type,
            "accelerator_type": pool.machine_spec.accelerator_type.name
            if pool.machine_spec.accelerator_count
            else None,
            "accelerator_count": pool.machine_spec.accelerator_count,
            "replica_count": pool.replica_count,
            "boot_disk_type": pool.disk_spec.boot_disk_type,
            "boot_disk_size_gb": pool.disk_spec.boot_disk_size_gb,
            "image_uri": pool.container_spec.image_uri,
            "args": list(pool.container_spec.args),
        }
    start, end = job.start_time, job.end_time
    return {
        "job_name": job.name,
        "display_name": job.display_name,
        "state": state_name(job.state),
        "status": status_of(job.state).value,
        "create_time": _iso(job.create_time),
        "start_time": _iso(start),
        "end_time": _iso(end),
        "duration_seconds": (end - start).total_seconds() if start and end else None,
        "machine": machine,
        "service_account": job.job_spec.service_account or None,
        "network": job.job_spec.network or None,
        "encryption_key": job.encryption_spec.kms_key_name or None,
        "labels": dict(job.labels),
        "group": job.labels.get(LABEL_GROUP),
        "error": job.error.message or None,
        "error_code": job.error.code or None,
    }


class JobQueries:
    """Status, details, logs and cancellation of CustomJobs, alone or by run.

    Args:
        apis: the Google API clients.
    """

    def __init__(self, apis: GoogleApis) -> None:
        self.apis = apis

    # -- jobs ---------------------------------------------------------------------------------
    def get_job(self, name: str) -> Any:
        """The CustomJob ``name`` (raises ``BackendError`` naming it when unknown)."""
        jobs = self.apis.jobs()
        return self.apis.call("GetCustomJob", jobs.get_custom_job, f"get job {name}", name=name)

    def run_jobs(self, run_id: str) -> list[Any]:
        """The CustomJobs labelled with ``run_id``, oldest first."""
        from google.cloud.aiplatform_v1.types import ListCustomJobsRequest

        jobs = self.apis.jobs()
        request = ListCustomJobsRequest(
            parent=self.apis.config.parent,
            filter=f'labels.{LABEL_RUN_ID}="{label_value(run_id)}"',
        )
        pager = self.apis.call(
            "ListCustomJobs",
            jobs.list_custom_jobs,
            f"list the jobs of run {run_id}",
            request=request,
        )
        found = list(pager)
        return sorted(found, key=lambda job: job.create_time)

    def cancel_job(self, name: str) -> bool:
        """CancelCustomJob; ``False`` when the job had already ended."""
        from google.api_core.exceptions import FailedPrecondition

        jobs = self.apis.jobs()
        try:
            self.apis.call(
                "CancelCustomJob", jobs.cancel_custom_job, f"cancel job {name}", name=name
            )
        except BackendError as exc:
            if isinstance(exc.__cause__, FailedPrecondition):
                return False
            raise
        return True

    def wait_job(self, name: str, timeout: float) -> Any:
        """Poll (with a growing interval) until the job has ended, or ``timeout``."""
        deadline = time.monotonic() + timeout
        delay = self.apis.config.poll_initial_seconds
        while True:
            job = self.get_job(name)
            if status_of(job.state).is_finished or time.monotonic() >= deadline:
                return job
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, self.apis.config.poll_max_seconds)

    def cancel_run_jobs(self, run_id: str) -> list[str]:
        """Cancel every unfinished job of a run of another process; their names."""
        names = []
        for job in self.run_jobs(run_id):
            if not status_of(job.state).is_finished and self.cancel_job(job.name):
                names.append(job.name)
        return names

    # -- one CustomJob, named by its resource name ----------------------------------------------
    def job_status(self, name: str) -> ExecutionStatus:
        """The status of one CustomJob."""
        return status_of(self.get_job(name).state)

    def job_log_entries(
        self, name: str, group: str | None = None, tail: int | None = None
    ) -> list[LogEntry]:
        """A job's log entries, oldest first (``tail``: only the last ones)."""
        found = read_entries(self.apis, name, newest_first=tail is not None, max_entries=tail)
        entries = [entry_dict(e, group) for e in found]
        return entries[::-1] if tail is not None else entries

    def job_stream(self, name: str, poll_interval: float) -> Iterator[dict[str, Any]]:
        """Each line of one job once, as it arrives; then one ``is_finished`` entry."""
        cursor = LogCursor(name)
        while True:
            status = self.job_status(name)
            for entry in cursor.poll(self.apis):
                yield entry.to_dict()
            if status.is_finished:
                break
            time.sleep(poll_interval)
        yield LogEntry.run_ended(name, status).to_dict()

    # -- runs of other processes, from their jobs' labels ----------------------------------------
    def run_status(self, run_id: str) -> ExecutionStatus | None:
        """The status a run's jobs give (``None``: it has none)."""
        statuses = [status_of(job.state) for job in self.run_jobs(run_id)]
        if not statuses:
            return None
        if any(not s.is_finished for s in statuses):
            return ExecutionStatus.RUNNING
        failed = [s for s in statuses if s.is_failed]
        return failed[0] if failed else ExecutionStatus.SUCCESS

    def run_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Group name -> details of its job."""
        groups = {}
        for job in self.run_jobs(run_id):
            facts = job_details(job)
            groups[facts["group"] or job.name] = facts
        return groups

    def run_log_entries(self, run_id: str) -> list[LogEntry]:
        """Every line the run's jobs wrote, in time order."""
        entries: list[LogEntry] = []
        for job in self.run_jobs(run_id):
            entries += self.job_log_entries(job.name, job.labels.get(LABEL_GROUP))
        return sorted(entries, key=lambda e: e.timestamp)  # stable: a job's order is kept

    def poll_run(self, run_id: str, cursors: dict[str, LogCursor]) -> list[LogEntry]:
        """The lines the run's jobs wrote since the last poll with these ``cursors``."""
        fresh: list[LogEntry] = []
        for job in self.run_jobs(run_id):
            cursor = cursors.setdefault(job.name, LogCursor(job.name, job.labels.get(LABEL_GROUP)))
            fresh += cursor.poll(self.apis)
        return fresh
