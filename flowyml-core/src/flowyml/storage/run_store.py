"""The run store: every run, step run, status, timing, retry, error and log line.

A run's record is committed when it is created, with its owner (see
:mod:`flowyml.storage.run_owner`); readers mark the runs whose owner died ``crashed``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowyml.errors import FlowyMLError, RunNotFoundError
from flowyml.records.status import ExecutionStatus
from flowyml.records.usage import ResourceUsage
from flowyml.storage.database import Database
from flowyml.storage.run_logs import LiveLogs, LogRow, read_log_rows, read_logs
from flowyml.storage.run_owner import Heartbeat, RunOwner, StepCommits, gone_reason
from flowyml.storage.run_records import CrashedRun, RunRecord, StepRecord
from flowyml.storage.run_shapes import RunShapes, read_shape
from flowyml.storage.step_rows import NEW_STEP, UPSERT_STEP, finished_row

if TYPE_CHECKING:
    from flowyml.records.results import ExecutionResult

__all__ = ["CrashedRun", "LogRow", "RunRecord", "RunStore", "StepRecord"]

_log = logging.getLogger(__name__)

_RUN_COLUMNS = (
    "run_id, pipeline, backend, status, started_at, finished_at, params, error, project,"
    " resumed_from, pipeline_ref"
)

_SUCCEEDED = ("success", "cached", "skipped")


class RunStore:
    """Reads and writes run records in the project's database.

    Args:
        db: the database.
        on_crashed: called with each run this store marks ``crashed`` (see
            :meth:`reconcile_crashed`), to release what its backend still holds.
    """

    def __init__(
        self, db: Database, on_crashed: Callable[[CrashedRun], None] | None = None
    ) -> None:
        self.db = db
        self.on_crashed = on_crashed
        self._heartbeat = Heartbeat(db)
        self._step_commits = StepCommits()
        # Steps started whose start row no batch has taken yet -> when they started. A
        # flush writes their start rows (see Database.add_batch_source); a step that ends
        # before then is written once, with its end. Changed under this lock.
        self._running: dict[tuple[str, str], float] = {}
        self._start_written: set[tuple[str, str]] = set()  # running, start row in a batch
        self._running_lock = threading.Lock()
        db.add_batch_source(self._start_rows)
        self._live = LiveLogs(db)
        self._shapes = RunShapes()

    def create_run(
        self,
        run_id: str,
        pipeline: str,
        backend: str,
        params: dict[str, Any],
        project: str = "default",
        resumed_from: str | None = None,
        pipeline_ref: str | None = None,
        graph: str | None = None,
    ) -> None:
        """Record a new run in the RUNNING state, owned by this process.

        The record is committed before this returns, so it survives the process dying in
        a step; its heartbeat is kept fresh until :meth:`finish_run`. ``graph`` is the
        pipeline's shape as JSON (see :meth:`get_graph`).

        Raises:
            FlowyMLError: a run with this id already exists.
        """
        self.reconcile_crashed()  # first: if it fails, no run is left behind
        owner = RunOwner.current()
        now = time.time()
        shape = self._shapes.statements(run_id, graph) if graph else []
        try:
            self.db.commit_now(
                [
                    *shape,
                    (
                        f"INSERT INTO runs ({_RUN_COLUMNS}, owner_host, owner_pid, owner_started,"
                        " owner_machine, heartbeat_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            run_id,
                            pipeline,
                            backend,
                            ExecutionStatus.RUNNING.value,
                            now,
                            None,
                            json.dumps(params, sort_keys=True, default=str),
                            None,
                            project,
                            resumed_from,
                            pipeline_ref,
                            owner.host,
                            owner.pid,
                            owner.started,
                            owner.machine,
                            now,
                        ),
                    ),
                ]
            )
        except sqlite3.IntegrityError as exc:
            raise FlowyMLError(
                f"run '{run_id}' already exists in {self.db.path}; pass a new run id"
                " (or none, for a generated one)"
            ) from exc
        self._heartbeat.start(run_id)

    def step_started(self, run_id: str, step: str, started_at: float) -> None:
        """Record that a step started; committed at once, unless many just were.

        See :class:`~flowyml.storage.run_owner.StepCommits`: the row names the step if it takes
        the process down.
        """
        with self._running_lock:
            self._running[run_id, step] = started_at
        if self._step_commits.due():
            self.db.flush()

    def _start_rows(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The start rows of the steps still running, for the batch a flush takes."""
        with self._running_lock:
            running, self._running = self._running, {}
            self._start_written.update(running)
        return [
            (UPSERT_STEP, (run_id, step, "running", started_at, *NEW_STEP))
            for (run_id, step), started_at in running.items()
        ]

    def step_finished(
        self,
        run_id: str,
        result: ExecutionResult,
        refs: dict[str, dict[str, Any]] | None = None,
        cache_key: str | None = None,
    ) -> None:
        """Record a step's final result (refs: output name -> artifact reference dict;
        ``None`` records the result's outputs, by URI)."""
        row = finished_row(run_id, result, refs, cache_key)
        key = (run_id, result.step_name)
        # Before the end row is queued: a batch taken in between has neither row.
        with self._running_lock:
            if self._running.pop(key, None) is None and key in self._start_written:
                self._start_written.discard(key)
                start_written = True
            else:
                start_written = False
        self.db.write(UPSERT_STEP, row)
        if result.logs:
            self.append_log(run_id, result.step_name, result.logs, row[4])
        if start_written:
            self.db.flush()  # its start may be committed: so is its end (see StepCommits)

    def record_step_keys(self, run_id: str, keys: dict[str, str]) -> None:
        """Record the keys under which steps without a cache key ran (step -> key), which
        a later resume compares (see :mod:`flowyml.execution.resume`)."""
        for step, key in keys.items():
            self.db.write(
                "UPDATE step_runs SET resume_key=? WHERE run_id=? AND step=?", (key, run_id, step)
            )

    def append_live(self, run_id: str, name: str, text: str) -> None:
        """Append what step (or group) ``name`` printed while it runs (see
        :mod:`flowyml.storage.run_logs`)."""
        self._live.append(run_id, name, text)

    def append_log(self, run_id: str, step: str, text: str, ts: float | None = None) -> None:
        """Append the final output of a step."""
        self.db.write(
            "INSERT INTO logs (run_id, step, ts, text) VALUES (?,?,?,?)",
            (run_id, step, ts or time.time(), text),
        )

    def finish_run(self, run_id: str, status: ExecutionStatus, error: str | None = None) -> None:
        """Record the final status of a run and commit everything queued."""
        self._heartbeat.stop(run_id)
        # Steps that never ended (the scheduler failed under them) keep their start rows,
        # which the flush below writes if no batch took them yet.
        with self._running_lock:
            self._start_written.difference_update(
                [key for key in self._start_written if key[0] == run_id]
            )
        self.db.write(
            "UPDATE runs SET status=?, finished_at=?, error=? WHERE run_id=?",
            (status.value, time.time(), error, run_id),
        )
        self.db.flush()
        self._live.run_finished(run_id)

    def get_run(self, run_id: str, with_steps: bool = True) -> RunRecord:
        """One run with its steps.

        Raises:
            RunNotFoundError: no run has this id (a unique prefix is accepted).
        """
        self.reconcile_crashed()
        rows = self.db.query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id=? OR run_id LIKE ?"
            " ORDER BY run_id=? DESC LIMIT 2",
            (run_id, run_id.replace("%", "") + "%", run_id),
        )
        if not rows or (len(rows) > 1 and rows[0][0] != run_id):
            reason = "is ambiguous" if rows else "does not exist"
            raise RunNotFoundError(
                f"run '{run_id}' {reason} in {self.db.path}; `flowyml runs list` shows the runs"
            )
        record = self._run_from_row(rows[0])
        if with_steps:
            record.steps = self.get_steps(record.run_id)
        return record

    @staticmethod
    def _run_from_row(row: tuple[Any, ...]) -> RunRecord:
        return RunRecord(
            run_id=row[0],
            pipeline=row[1],
            backend=row[2],
            status=ExecutionStatus(row[3]),
            started_at=row[4],
            finished_at=row[5],
            params=json.loads(row[6]),
            error=row[7],
            project=row[8],
            resumed_from=row[9],
            pipeline_ref=row[10],
        )

    def get_steps(self, run_id: str) -> list[StepRecord]:
        """The step records of a run, in the order they started."""
        rows = self.db.query(
            "SELECT step, status, started_at, finished_at, duration, retries, cached, skipped,"
            " error, traceback, outputs, exit_code, cache_key, resume_key, usage FROM step_runs"
            " WHERE run_id=?"
            " ORDER BY COALESCE(started_at, finished_at), rowid",
            (run_id,),
        )
        return [
            StepRecord(
                step=r[0],
                status=ExecutionStatus(r[1]),
                started_at=r[2],
                finished_at=r[3],
                duration=r[4],
                retries=r[5],
                cached=bool(r[6]),
                skipped=bool(r[7]),
                error=r[8],
                traceback=r[9],
                outputs=json.loads(r[10]),
                exit_code=r[11],
                cache_key=r[12],
                resume_key=r[13],
                usage=None if r[14] is None else ResourceUsage.from_dict(json.loads(r[14])),
            )
            for r in rows
        ]

    def list_runs(
        self, limit: int = 20, pipeline: str | None = None, status: str | None = None
    ) -> list[RunRecord]:
        """The most recent runs, newest first; of one pipeline, in one status."""
        self.reconcile_crashed()
        where = [(c, v) for c, v in (("pipeline", pipeline), ("status", status)) if v]
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        params: list[Any] = [value for _, value in where]
        if where:
            sql += " WHERE " + " AND ".join(f"{column}=?" for column, _ in where)
        sql += " ORDER BY started_at DESC LIMIT ?"
        params.append(limit)
        return [self._run_from_row(r) for r in self.db.query(sql, params)]

    def reconcile_crashed(self) -> list[CrashedRun]:
        """Mark ``crashed`` every RUNNING run whose owner is gone, with its unfinished steps.

        The owner is gone when, on this machine, its process no longer exists (or its PID
        belongs to a process started at another time), or, for a run owned elsewhere, when
        its heartbeat is older than :data:`flowyml.storage.run_owner.HEARTBEAT_TIMEOUT`. Runs
        recorded before owners were (no owner, no heartbeat) are left as they are: nothing
        tells whether their process lives. The run's ``error`` and the ``error`` of its
        steps still ``running`` or ``pending`` say why; its ``finished_at`` is its last
        sign of life. :meth:`get_run`, :meth:`list_runs` and :meth:`create_run` call this.

        Returns:
            The runs this call marked, with their backend, so a backend can release what
            they left behind (each is also passed to ``on_crashed``); a run another
            reader marked first is not repeated.
        """
        rows = self.db.query(
            "SELECT run_id, backend, COALESCE(heartbeat_at, started_at), owner_host,"
            " owner_pid, owner_started, owner_machine FROM runs"
            " WHERE status=? AND owner_host IS NOT NULL",
            (ExecutionStatus.RUNNING.value,),
        )
        now = time.time()
        found: list[CrashedRun] = []
        for run_id, backend, last_seen, host, pid, started, machine in rows:
            reason = gone_reason(RunOwner(host, pid, started, machine), last_seen, now)
            if reason is not None:
                found.append(CrashedRun(run_id, backend, reason))
        if not found:
            return []
        crashed = ExecutionStatus.CRASHED.value
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for run in found:
            statements += [
                (
                    # Only if still running: the run may have been marked by another reader.
                    "UPDATE runs SET status=?, error=?, finished_at=MAX(COALESCE(heartbeat_at,"
                    " started_at), COALESCE((SELECT MAX(COALESCE(finished_at, started_at))"
                    " FROM step_runs WHERE run_id=?), 0)) WHERE run_id=? AND status=?",
                    (crashed, run.error, run.run_id, run.run_id, ExecutionStatus.RUNNING.value),
                ),
                (
                    "UPDATE step_runs SET status=?, error=? WHERE run_id=? AND status IN (?,?)",
                    (
                        crashed,
                        run.error,
                        run.run_id,
                        ExecutionStatus.RUNNING.value,
                        ExecutionStatus.PENDING.value,
                    ),
                ),
            ]
        counts = self.db.commit_now(statements)
        marked = [run for index, run in enumerate(found) if counts[2 * index]]
        for run in marked:
            if self.on_crashed is None:
                break
            try:
                self.on_crashed(run)
            except Exception as exc:  # a failed clean-up must not fail the read that found it
                _log.warning("flowyml: clean-up of crashed run %s failed: %s", run.run_id, exc)
        return marked

    def get_logs(self, run_id: str, step: str | None = None) -> list[tuple[str, float, str]]:
        """Captured output of a run as (step, timestamp, text), oldest first: a finished
        step's whole output, and what a running step printed so far."""
        return read_logs(self.db, self.get_run(run_id, with_steps=False).run_id, step)

    def log_rows(self, run_id: str, after: int = 0, limit: int = 1000) -> list[LogRow]:
        """The run's output rows written after row ``after``, live and final, in order."""
        return read_log_rows(self.db, run_id, after, limit)

    def owner_of(self, run_id: str) -> RunOwner | None:
        """The process that records run ``run_id`` (None for runs recorded before owners)."""
        rows = self.db.query(
            "SELECT owner_host, owner_pid, owner_started, owner_machine FROM runs WHERE run_id=?",
            (run_id,),
        )
        return RunOwner(*rows[0]) if rows and rows[0][0] is not None else None

    def get_graph(self, run_id: str) -> dict[str, Any] | None:
        """The shape of the run's pipeline as recorded when it started, or None for runs
        recorded before shapes were: ``{"steps": [{"name", "group", "upstream", "inputs",
        "outputs", "resources"}]}``, steps in execution order; ``group`` is the execution
        group shared with other steps (or None), ``inputs`` maps each input artifact to the
        step that produces it (None for a pipeline input), ``resources`` what the step asks
        for (the fields it sets, configured per-step resources included)."""
        return read_shape(self.db, run_id)

    def step_counts(self, run_ids: list[str]) -> dict[str, dict[str, int]]:
        """Per run: its steps (``total``), how many ``succeeded`` (ran, came from the cache or
        were skipped), how many of those were ``cached`` and ``skipped``, and how many are in
        each other status (``failed``, ``running``, ``pending``, ``crashed``...)."""
        counts: dict[str, dict[str, int]] = {}
        for start in range(0, len(run_ids), 500):
            chunk = run_ids[start : start + 500]
            rows = self.db.query(
                "SELECT run_id, status, SUM(cached), SUM(skipped), COUNT(*) FROM step_runs"
                f" WHERE run_id IN ({','.join('?' * len(chunk))}) GROUP BY run_id, status",
                chunk,
            )
            for run_id, status, cached, skipped, count in rows:
                run = counts.setdefault(
                    run_id, {"total": 0, "succeeded": 0, "cached": 0, "skipped": 0}
                )
                key = "succeeded" if status in _SUCCEEDED else status
                run[key] = run.get(key, 0) + count
                run["total"] += count
                run["cached"] += cached or 0
                run["skipped"] += skipped or 0
        return {run_id: counts.get(run_id, {"total": 0}) for run_id in run_ids}
