"""The client's view of a run's group tasks: the events workers send, and how each ended.

A group task tells the client how it ended through a scheduler event carrying its
records, so the client never fetches the values (they stay on the worker, for the
consumers). :class:`TaskWatch` receives those events, waits for a task's, and turns the
other ends of a task into records or errors: its worker died (:class:`WorkerDied`, for
the retry policy), it could not run the group, or the scheduler went away. A lost
scheduler fails the task's steps with a ``BackendError`` naming it, at once: waiting for
the client to give up reconnecting would hold the run for ``connect_timeout`` while
nothing of it can run any more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flowyml.backend import BackendError
from flowyml_dask.cluster import RunCluster, WorkerDied
from flowyml_dask.worker_task import records_of

__all__ = ["TaskWatch", "failed_record", "words"]

_POLL = 1.0  # seconds between checks that the scheduler is still there
_RECORD_GRACE = 5.0  # how long a finished task's result event may lag behind its end


def words(exc: BaseException) -> str:
    """An exception as an error line: ``Type: message``."""
    return f"{type(exc).__name__}: {exc}"


def failed_record(step_name: str, error: str, **fields: Any) -> dict[str, Any]:
    """The record of a step that failed (or was cancelled) without reporting itself."""
    return {"step_name": step_name, "success": False, "error": error, **fields}


class TaskWatch:
    """The run's group tasks in flight, and the records their events brought.

    Args:
        on_log: called with ``(step name, text)`` for each line a step printed.
    """

    def __init__(self, on_log: Callable[[str, str], None]) -> None:
        self._on_log = on_log
        self._lock = threading.Lock()
        self._records: dict[str, list[dict[str, Any]]] = {}
        self._events: dict[str, threading.Event] = {}
        self._in_flight: dict[str, Any] = {}
        #: Why nothing more can run: set once the scheduler is lost.
        self.lost: str | None = None
        #: The run the tasks belong to (named in errors, for ``--resume``).
        self.run_id = "RUN_ID"

    def on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        """A message on the run's event topic: a task's records, or a printed line."""
        message = event[1]
        if message.get("kind") == "done":
            key = message["key"]
            self._records[key] = message["records"]
            waiting = self._events.get(key)
            if waiting is not None:
                waiting.set()
        elif message.get("kind") == "log":
            self._on_log(message["step"], message["text"])

    def in_flight(self) -> list[Any]:
        """The futures of the tasks being waited for."""
        with self._lock:
            return list(self._in_flight.values())

    def wait(
        self,
        key: str,
        future: Any,
        cluster: RunCluster,
        step_name: str,
        stopping: Callable[[], bool],
    ) -> list[dict[str, Any]]:
        """The records of task ``key`` (running group ``step_name``...), once its event
        came, or its result when the event is late.

        Raises:
            WorkerDied: its worker died while running it.
        """
        event = threading.Event()
        with self._lock:
            self._events[key] = event
            self._in_flight[key] = future
        future.add_done_callback(lambda _f: event.set())
        finished_at: float | None = None
        try:
            while True:
                event.wait(_POLL if finished_at is None else 0.05)
                records = self._records.pop(key, None)
                if records is not None:
                    return records
                status = future.status
                if status == "finished":
                    finished_at = finished_at or time.monotonic()
                    if time.monotonic() - finished_at > _RECORD_GRACE:
                        fetched: list[dict[str, Any]] = cluster.client.submit(
                            records_of, future, pure=False
                        ).result()
                        return fetched
                    event.clear()
                elif status == "error":
                    return _task_error(key, future, cluster, step_name)
                elif stopping():
                    if status == "cancelled" or not cluster.alive:
                        stopped = "cancelled: the run was stopped"
                        return [failed_record(step_name, stopped, cancelled=True)]
                elif status == "cancelled" or not cluster.alive:
                    return [failed_record(step_name, self._gone(key, cluster, step_name))]
        finally:
            with self._lock:
                self._events.pop(key, None)
                self._in_flight.pop(key, None)
                self._records.pop(key, None)

    def _gone(self, key: str, cluster: RunCluster, step_name: str) -> str:
        """Why a task that was not stopped by its run vanished: most often, the scheduler."""
        if cluster.client.status == "running":
            return (
                f"step '{step_name}': its Dask task {key} was cancelled on the cluster, not by "
                "this run (another client, or the scheduler forgot it)"
            )
        lost = BackendError(
            f"dask: lost the scheduler at {cluster.address} while step '{step_name}' ran "
            f"(task {key}); nothing of the run can go on: restart the scheduler and resume "
            f"the run with `flowyml run ... --resume {self.run_id}`"
        )
        self.lost = self.lost or words(lost)
        return words(lost)


def _task_error(key: str, future: Any, cluster: RunCluster, step_name: str) -> list[dict[str, Any]]:
    from distributed import KilledWorker

    error = future.exception()
    if isinstance(error, KilledWorker):
        address = getattr(error.last_worker, "address", str(error.last_worker))
        raise WorkerDied(cluster.why_worker_died(address), address)
    # run_group itself failed: most often a step that cannot be unpickled on the worker.
    return [
        failed_record(
            step_name,
            f"the Dask task {key} could not run the group: {words(error)} (the pipeline's "
            "module must be importable on every worker)",
        )
    ]
