"""The shared half of every remote backend that runs one handle per step group.

``docker``, ``vertex_ai`` and backends like them differ only in what a group's *handle*
is (a container, a CustomJob, a Kubernetes Job) and how to start, watch and stop one.
Everything else is here, once: the core :class:`~flowyml.execution.scheduler.Scheduler`
drives the run from a background thread of the submitting process, a
:class:`~flowyml.execution.run_tracker.RunTracker` holds what that process knows, and
status, details, logs and streams are answered from it, or, for a run of another
process, from the run store and what the backend's few ``foreign_*`` hooks read from its
target.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from flowyml.errors import ConfigError, RunNotFoundError
from flowyml.execution.background import start_background_run
from flowyml.execution.executor import Executor
from flowyml.execution.remote import RemoteOrchestrator, SubmitOptions
from flowyml.execution.run_tracker import RunTracker
from flowyml.execution.scheduler import Scheduler
from flowyml.project.folder import Project, open_project
from flowyml.records.log_entry import LogEntry, log_text
from flowyml.records.results import SubmissionResult, WaitTimeoutError
from flowyml.records.status import ExecutionStatus
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.run_records import RunRecord

__all__ = ["TrackedRemoteOrchestrator", "stored_log_entries"]


def stored_log_entries(project: Project, run_id: str) -> list[LogEntry]:
    """The log lines of a run's finished steps, as the run store keeps them."""
    try:
        rows = project.run_store.get_logs(run_id)
    except RunNotFoundError:
        return []
    return [
        LogEntry(line, step, "INFO", datetime.fromtimestamp(ts, UTC).isoformat())
        for step, ts, text in rows
        for line in text.splitlines()
    ]


class TrackedRemoteOrchestrator(RemoteOrchestrator):
    """A remote orchestrator whose runs the core scheduler drives, one handle per group.

    A subclass implements ``run_pipeline`` (build what the run needs, make its executor,
    then :meth:`start_run`), ``stop_run``, ``validate`` and ``to_dict``; and, so that
    runs of other processes can be described, the ``foreign_*`` hooks.

    Class attributes:
        handle_key: the name of a group's handle in details (``"container_id"``...).
        keeps_records: mirror each run to ``.flowyml/<backend>/runs/`` so other processes
            can read its groups and stop it (for targets that cannot list a run's
            handles by label).
    """

    handle_key: ClassVar[str] = "handle"
    keeps_records: ClassVar[bool] = False

    def __init__(self) -> None:
        self._trackers: dict[str, RunTracker] = {}
        self._executors: dict[str, Executor] = {}
        self._trackers_lock = threading.Lock()

    # -- settings ---------------------------------------------------------------------------
    def settings_problems(self) -> list[str]:
        """What is wrong or missing in the settings for a run (default: nothing)."""
        return []

    def require_valid_settings(self) -> None:
        """Refuse to submit with incomplete settings.

        Raises:
            ConfigError: one message listing every problem, naming the backend.
        """
        problems = self.settings_problems()
        if problems:
            raise ConfigError(f"backend '{type(self).name}': " + "; ".join(problems))

    # -- hooks for runs of other processes ----------------------------------------------------
    def foreign_status(self, run_id: str) -> ExecutionStatus | None:
        """The run's status as its target tells it (``None``: the target knows nothing)."""
        return None

    def foreign_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Group name -> facts about the run's handles that the target still has."""
        return {}

    def foreign_log_entries(self, run_id: str) -> list[LogEntry]:
        """Log entries of the run's groups that the target still has."""
        return []

    def extra_details(self, run_id: str) -> dict[str, Any]:
        """Backend-specific keys added to ``get_run_details``."""
        return {}

    # -- runs of this process -----------------------------------------------------------------
    def run_id_of(self, job_id: str) -> str:
        """The run id a job id names (backends with prefixed job ids strip them here)."""
        return job_id

    def tracker(self, run_id: str) -> RunTracker | None:
        """The tracker of a run submitted by this process and object, or ``None``."""
        with self._trackers_lock:
            return self._trackers.get(run_id)

    def executor_of(self, run_id: str) -> Any:
        """The executor of a run submitted by this process and object, or ``None``."""
        with self._trackers_lock:
            return self._executors.get(run_id)

    def record_dir(self, project: Project | None = None) -> Path | None:
        """Where runs are mirrored (``None`` unless ``keeps_records``)."""
        if not self.keeps_records:
            return None
        return (project or open_project()).home / self.name / "runs"

    def new_tracker(
        self, run_id: str, pipeline: Any, project: Project, **options: Any
    ) -> RunTracker:
        """A tracker for a run this process is about to submit."""
        return RunTracker(
            run_id,
            pipeline.name,
            backend=self.name,
            handle_key=self.handle_key,
            record_dir=self.record_dir(project),
            **options,
        )

    def start_run(
        self,
        tracker: RunTracker,
        executor: Executor,
        pipeline: Any,
        context: Any,
        inputs: dict[str, Any] | None,
        submit: SubmitOptions,
        project: Project,
        artifact_store: ArtifactStore,
        metadata: dict[str, Any],
    ) -> SubmissionResult:
        """Run the scheduler over ``executor`` in a background thread; returns at once.

        The submission's ``group_job_ids`` fill in as handles are created, and its
        ``wait()`` blocks until the run ends.
        """
        scheduler = Scheduler(
            executor,
            project.run_store,
            project.cache_store if submit.use_cache else None,
            artifact_store,
            fail_fast=submit.fail_fast,
            project_name=project.config.project_name,
            listener=submit.listener,
        )
        run_id = tracker.run_id
        submission = SubmissionResult(
            job_id=run_id, run_id=run_id, orchestrator=self.name, metadata=metadata
        )
        tracker.on_handle.append(submission.group_job_ids.__setitem__)
        with self._trackers_lock:
            self._trackers[run_id] = tracker
            self._executors[run_id] = executor
        tracker.set_status(ExecutionStatus.RUNNING)
        start_background_run(
            scheduler,
            pipeline,
            run_id,
            context,
            dict(inputs or {}),
            resume_from=submit.resume_from,
            is_cancelled=tracker.is_cancelled,
            on_finished=tracker.finish,
            thread_name=f"flowyml-{self.name}-{run_id}",
        )
        return submission.bind(lambda: self.get_run_status(run_id), tracker.wait)

    def request_stop(self, run_id: str, graceful: bool) -> RunTracker | None:
        """Ask a run to start no further group (here, and through its stop file for a run
        of another process); returns this process's tracker of it, if any."""
        tracker = self.tracker(run_id)
        if tracker is not None:
            tracker.cancel()
            tracker.log(f"stop requested (graceful={graceful})", severity="WARNING")
        record_dir = self.record_dir()
        if record_dir is not None:
            marker = RunTracker.stop_file(record_dir, run_id)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(time.time()))
        return tracker

    @staticmethod
    def wait_stopped(tracker: RunTracker | None, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a stopped run of this process to end."""
        if tracker is None:
            return True
        try:
            tracker.wait(timeout)
        except WaitTimeoutError:
            return False  # the run thread is still winding down; its handles are stopped
        return True

    # -- queries --------------------------------------------------------------------------------
    def _stored(self, project: Project, run_id: str) -> RunRecord | None:
        try:
            return project.run_store.get_run(run_id)
        except RunNotFoundError:
            return None

    def _record(self, project: Project, run_id: str) -> dict[str, Any] | None:
        record_dir = self.record_dir(project)
        return None if record_dir is None else RunTracker.load_record(record_dir, run_id)

    def get_run_status(self, job_id: str) -> ExecutionStatus:
        """The run's status: from this process's tracker, else its record, the run store
        and its target.

        Raises:
            RunNotFoundError: nothing is known of the run.
        """
        run_id = self.run_id_of(job_id)
        tracker = self.tracker(run_id)
        if tracker is not None:
            return tracker.status
        project = open_project()
        record = self._record(project, run_id)
        stored = self._stored(project, run_id)
        if record is not None:
            status = ExecutionStatus(record["status"])
            if status.is_finished or stored is None:
                return status
        if stored is not None and stored.status.is_finished:
            return stored.status
        found = self.foreign_status(run_id)
        if found is not None and (not found.is_finished or stored is None):
            return found
        if stored is not None:
            return ExecutionStatus.RUNNING
        raise RunNotFoundError(f"{self.name} run '{run_id}' is unknown to this project")

    def get_run_details(self, job_id: str) -> dict[str, Any]:
        """The run: status, image, timings, error, and per group its handle, status,
        timings, steps and step results.

        Raises:
            RunNotFoundError: nothing is known of the run.
        """
        run_id = self.run_id_of(job_id)
        status = self.get_run_status(job_id)
        project = open_project()
        tracker = self.tracker(run_id)
        record = tracker.to_record() if tracker else self._record(project, run_id) or {}
        stored = self._stored(project, run_id)
        groups: dict[str, dict[str, Any]] = {
            name: dict(group) for name, group in record.get("groups", {}).items()
        }
        if tracker is None and (not status.is_finished or not groups):
            for name, facts in self.foreign_groups(run_id).items():
                groups.setdefault(name, facts)
        steps = {s.step: s for s in stored.steps} if stored else {}
        for group in groups.values():
            group["step_results"] = {
                name: steps[name].summary() for name in group.get("steps", []) if name in steps
            }
        return {
            "job_id": job_id,
            "run_id": run_id,
            "orchestrator": self.name,
            "status": status.value,
            "pipeline": record.get("pipeline") or (stored.pipeline if stored else None),
            "image": record.get("image", {}),
            "submitted_at": record.get("submitted_at"),
            "finished_at": record.get("finished_at"),
            "duration_seconds": stored.duration if stored else None,
            "error": record.get("error") or (stored.error if stored else None),
            "failed_steps": [n for n, s in steps.items() if s.status.is_failed],
            "groups": groups,
            "config": self.to_dict(),
            **self.extra_details(run_id),
        }

    def log_entries(self, run_id: str) -> list[LogEntry]:
        """Every log entry known of the run: this process's, else the run store's for
        finished groups and the target's for the others."""
        tracker = self.tracker(run_id)
        if tracker is not None:
            return tracker.entries()
        entries = stored_log_entries(open_project(), run_id)
        done = {e.group for e in entries}
        return entries + [e for e in self.foreign_log_entries(run_id) if e.group not in done]

    def get_run_logs(self, job_id: str, max_entries: int = 200) -> str:
        """The run's last ``max_entries`` log lines (secret values masked).

        Raises:
            RunNotFoundError: nothing is known of the run.
        """
        self.get_run_status(job_id)
        return log_text(self.log_entries(self.run_id_of(job_id)), max_entries)

    def poll_log_entries(self, run_id: str, seen: set[tuple[Any, ...]]) -> list[LogEntry]:
        """The entries of a run of another process not yet in ``seen`` (updated)."""
        fresh = []
        for entry in self.log_entries(run_id):
            key = (entry.timestamp, entry.group, entry.message)
            if key not in seen:
                seen.add(key)
                fresh.append(entry)
        return fresh

    def stream_logs(self, job_id: str, poll_interval: float = 5.0) -> Iterator[dict[str, Any]]:
        """Yield log entries as they arrive: dicts with timestamp, severity, message,
        group and is_finished; each line once, in order; the last one has
        ``is_finished=True``."""
        run_id = self.run_id_of(job_id)
        tracker = self.tracker(run_id)
        if tracker is not None:
            for entry in tracker.follow(poll_interval):
                yield entry.to_dict()
        else:
            seen: set[tuple[Any, ...]] = set()
            while True:
                status = self.get_run_status(job_id)
                for entry in self.poll_log_entries(run_id, seen):
                    yield entry.to_dict()
                if status.is_finished:
                    break
                time.sleep(poll_interval)
        yield LogEntry.run_ended(f"run {run_id}", self.get_run_status(job_id)).to_dict()
