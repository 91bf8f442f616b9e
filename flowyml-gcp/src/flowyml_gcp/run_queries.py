"""Answers about runs and jobs: status, details, logs, streams, cancellation.

A run submitted by this process is answered from its live :class:`RunState`; any other
run is found through its jobs' labels (``flowyml-run-id``) and the project's run store;
a CustomJob resource name is answered by JobService and Cloud Logging directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from flowyml.backend import BackendError, ExecutionStatus, RunNotFoundError
from flowyml_gcp.api import GoogleApis
from flowyml_gcp.job_logs import LogCursor, entry_dict, read_entries
from flowyml_gcp.job_spec import LABEL_GROUP, LABEL_RUN_ID, label_value
from flowyml_gcp.job_states import state_name, status_of
from flowyml_gcp.run_state import RunState, now_iso

__all__ = ["RunQueries", "format_entry", "is_job_name", "job_details"]


def is_job_name(job_id: str) -> bool:
    """Whether ``job_id`` is a CustomJob resource name rather than a run id."""
    return job_id.startswith("projects/") and "/customJobs/" in job_id


def format_entry(entry: dict[str, Any]) -> str:
    """One log line of ``get_run_logs``."""
    return f"{entry['timestamp']} {entry['severity']} [{entry.get('group') or 'run'}] " + str(
        entry["message"]
    )


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


class RunQueries:
    """Status, details, logs and cancellation of runs and jobs.

    Args:
        apis: the Google API clients.
        state_of: the live state of a run submitted by this process, or ``None``.
    """

    def __init__(self, apis: GoogleApis, state_of: Callable[[str], RunState | None]) -> None:
        self.apis = apis
        self.state_of = state_of

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

    # -- status and details ------------------------------------------------------------------------
    def _stored(self, run_id: str) -> Any:
        from flowyml.backend import open_project

        try:
            return open_project().run_store.get_run(run_id)
        except RunNotFoundError:
            return None

    def status(self, job_id: str) -> ExecutionStatus:
        """The status of a run or a CustomJob."""
        if is_job_name(job_id):
            return status_of(self.get_job(job_id).state)
        state = self.state_of(job_id)
        if state is not None:
            return state.status
        stored = self._stored(job_id)
        if stored is not None and stored.status.is_finished:
            return ExecutionStatus(stored.status)
        jobs = self.run_jobs(job_id)
        if not jobs and stored is None:
            raise RunNotFoundError(f"vertex_ai run '{job_id}' is unknown to this project")
        statuses = [status_of(job.state) for job in jobs]
        if any(not s.is_finished for s in statuses):
            return ExecutionStatus.RUNNING
        if stored is not None:
            return ExecutionStatus(stored.status)
        failed = [s for s in statuses if s.is_failed]
        return failed[0] if failed else ExecutionStatus.SUCCESS

    def details(self, job_id: str) -> dict[str, Any]:
        """Details of a run (per group: job, machine, resources, steps) or of one job."""
        if is_job_name(job_id):
            return {
                "job_id": job_id,
                "orchestrator": "vertex_ai",
                **job_details(self.get_job(job_id)),
            }
        status = self.status(job_id)
        state = self.state_of(job_id)
        stored = self._stored(job_id)
        groups: dict[str, dict[str, Any]] = {}
        if state is not None:
            groups = {name: g.to_dict() for name, g in state.groups.items()}
        else:
            for job in self.run_jobs(job_id):
                facts = job_details(job)
                groups[facts["group"] or job.name] = facts
        steps = {s.step: s for s in stored.steps} if stored else {}
        for group in groups.values():
            group["step_results"] = {
                name: steps[name].summary() for name in group.get("steps", []) if name in steps
            }
        error = (state.error if state else None) or (stored.error if stored else None)
        return {
            "job_id": job_id,
            "run_id": job_id,
            "orchestrator": "vertex_ai",
            "status": status.value,
            "pipeline": (state.pipeline if state else None)
            or (stored.pipeline if stored else None),
            "image": dict(state.image) if state else {},
            "submitted_at": state.submitted_at if state else None,
            "finished_at": state.finished_at if state else None,
            "duration_seconds": stored.duration if stored else None,
            "error": error,
            "failed_steps": [n for n, s in steps.items() if s.status.is_failed],
            "groups": groups,
            "api_calls": dict(self.apis.counter.calls),
        }

    # -- logs ----------------------------------------------------------------------------------
    def _job_names(self, run_id: str) -> list[tuple[str, str | None]]:
        state = self.state_of(run_id)
        if state is not None:
            return [(g.job_name, g.group) for g in state.groups.values() if g.job_name]
        return [(job.name, job.labels.get(LABEL_GROUP)) for job in self.run_jobs(run_id)]

    def logs(self, job_id: str, max_entries: int = 200) -> str:
        """The last ``max_entries`` lines of a job, or of every job of a run."""
        if max_entries <= 0:
            return ""
        targets = [(job_id, None)] if is_job_name(job_id) else self._job_names(job_id)
        entries: list[dict[str, Any]] = []
        for name, group in targets:
            tail = read_entries(self.apis, name, newest_first=True, max_entries=max_entries)
            entries += [entry_dict(e, group) for e in reversed(tail)]
        entries.sort(key=lambda e: e["timestamp"])  # stable: a job's own order is kept
        return "\n".join(format_entry(e) for e in entries[-max_entries:])

    def stream(self, job_id: str, poll_interval: float) -> Iterator[dict[str, Any]]:
        """Each log line once, in order, as it arrives; then one ``is_finished`` entry."""
        state = None if is_job_name(job_id) else self.state_of(job_id)
        if state is not None:
            seen = 0
            while True:
                finished = state.finished
                batch = state.entries(seen, timeout=None if finished else poll_interval)
                batch = [e for e in batch]
                seen += len(batch)
                yield from batch
                if finished and not batch:
                    break
            status = state.status
        else:
            cursors: dict[str, LogCursor] = {}
            while True:
                status = self.status(job_id)
                targets = [(job_id, None)] if is_job_name(job_id) else self._job_names(job_id)
                for name, group in targets:
                    cursor = cursors.setdefault(name, LogCursor(name, group))
                    yield from cursor.poll(self.apis)
                if status.is_finished:
                    break
                time.sleep(poll_interval)
        yield {
            "timestamp": now_iso(),
            "severity": "INFO" if status.is_successful else "ERROR",
            "message": f"{job_id} {status.value}",
            "group": None,
            "is_finished": True,
        }
