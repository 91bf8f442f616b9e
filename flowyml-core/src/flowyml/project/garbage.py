"""Garbage collection of a project: old runs, and the artifacts nothing refers to any more.

:func:`collect_garbage` (``flowyml gc``) works in two transactions on the project's
database. Each holds the database's write lock from its start, so meanwhile no run can be
created and no record written (other processes wait, as for any writer). Records are
deleted before the artifacts they name — the reverse of the order they are written in —
so a collection that dies part-way leaves unreferenced artifacts for the next one, never
a record naming an artifact that is gone.

1. **Runs.** Without a policy no run is deleted. ``keep_last=N`` keeps the N most recent
   finished runs of each pipeline, ``older_than_days=D`` every run that ended less than D
   days ago; given both, a run is kept when either keeps it. Finished means ``success``,
   ``failed``, ``cancelled`` or ``crashed`` (runs whose owner died are marked ``crashed``
   first). A run in progress is never deleted and does not count towards N, nor is the
   run that a run in progress resumes. A deleted run loses its step runs and log lines.
2. **Artifacts** of the project's own store, ``.flowyml/artifacts`` (a store that a stack
   names may be shared with other projects and is left alone): an artifact — a file under
   ``objects/`` or a row of the small-object pack ``objects.db`` — is deleted when no
   remaining run and no cache entry names it. A cache entry one of whose artifacts is
   gone is deleted (a run would ignore it anyway). So are the ``named/runs/<id>`` folders
   (tasks, manifests) of runs that are no longer recorded, and files that interrupted
   writers left in ``tmp/``.

Safety rule. A run in progress in another process may be writing artifacts it has not
recorded yet, or writing again, under the same content-addressed name, an artifact that
nothing names now. Therefore:

- an artifact file modified since the start of the oldest run in progress (less a few
  seconds for the file system's clock), or less than :data:`GRACE_SECONDS` ago, is kept;
  a file is moved aside before it is unlinked, and put back if a writer replaced it then;
- packed artifacts carry no time: they are deleted only when no run is in progress (the
  write lock keeps any run from starting while they are);
- ``tmp/`` is cleaned only when no run is in progress, of files untouched for
  :data:`GRACE_SECONDS`;
- directories are never removed under ``objects/``: writers remember the ones they made.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowyml.errors import FlowyMLError
from flowyml.project.folder import Project
from flowyml.project.gc_sweep import FINISHED as _FINISHED
from flowyml.project.gc_sweep import RecordedRun as _Run
from flowyml.project.gc_sweep import delete_rows as _delete_rows
from flowyml.project.gc_sweep import marks as _marks
from flowyml.project.gc_sweep import plural as _plural
from flowyml.project.gc_sweep import recorded_runs as _runs
from flowyml.project.gc_sweep import size as _size
from flowyml.project.gc_sweep import sweep as _sweep
from flowyml.project.gc_sweep import transaction as _transaction
from flowyml.storage.artifact_store import LocalArtifactStore

__all__ = ["GRACE_SECONDS", "GarbageReport", "collect_garbage"]

GRACE_SECONDS = 300.0
"""Artifact and temporary files modified less than this many seconds ago are kept."""

_DAY = 86400.0


@dataclass
class GarbageReport:
    """What a collection deleted or, in a dry run, would delete.

    Attributes:
        dry_run: nothing was deleted; the counts say what would have been.
        grace: the grace period used, in seconds.
        runs: runs deleted, with their ``step_runs`` step records and ``log_entries``.
        step_runs: see ``runs``.
        log_entries: see ``runs``.
        cache_entries: cache entries deleted because one of their artifacts was gone.
        artifact_files: artifact files deleted under ``objects/``.
        packed_artifacts: artifacts deleted from ``objects.db``.
        artifact_bytes: the size of those artifacts.
        run_files: files of ``named/runs/<id>`` folders of runs no longer recorded.
        temporary_files: files left in ``tmp/`` by interrupted writers.
        other_bytes: the size of the run and temporary files.
        in_progress: runs found in progress (never deleted).
        kept_recent: unreferenced artifact files kept by the safety rule.
        kept_packed: unreferenced packed artifacts kept because runs are in progress.
        notes: anything else worth reporting.
    """

    dry_run: bool = False
    grace: float = GRACE_SECONDS
    runs: int = 0
    step_runs: int = 0
    log_entries: int = 0
    cache_entries: int = 0
    artifact_files: int = 0
    packed_artifacts: int = 0
    artifact_bytes: int = 0
    run_files: int = 0
    temporary_files: int = 0
    other_bytes: int = 0
    in_progress: int = 0
    kept_recent: int = 0
    kept_packed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def artifacts(self) -> int:
        """Artifacts deleted, files and packed."""
        return self.artifact_files + self.packed_artifacts

    @property
    def bytes_freed(self) -> int:
        """Bytes of artifacts, run files and temporary files deleted."""
        return self.artifact_bytes + self.other_bytes

    def lines(self) -> list[str]:
        """The report in words, one line per kind of thing."""
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            f"{verb} {_plural(self.runs, 'run')} ({_plural(self.step_runs, 'step run')},"
            f" {_plural(self.log_entries, 'log entry', 'log entries')})",
            f"{verb} {_plural(self.artifacts, 'artifact')} ({_plural(self.artifact_files, 'file')},"
            f" {self.packed_artifacts} packed): {_size(self.artifact_bytes)}",
        ]
        if self.cache_entries:
            lines.append(
                f"{verb} {_plural(self.cache_entries, 'cache entry', 'cache entries')}"
                " whose artifacts were gone"
            )
        if self.run_files or self.temporary_files:
            lines.append(
                f"{verb} {_plural(self.run_files, 'file')} of runs no longer recorded and"
                f" {_plural(self.temporary_files, 'temporary file')}: {_size(self.other_bytes)}"
            )
        lines.append(f"{'would free' if self.dry_run else 'freed'} {_size(self.bytes_freed)}")
        if self.in_progress:
            lines.append(f"kept {_plural(self.in_progress, 'run')} in progress")
        if self.kept_recent:
            lines.append(
                f"kept {_plural(self.kept_recent, 'unreferenced artifact file')} modified in"
                f" the last {self.grace / 60:g} minutes or since the oldest run in progress"
                " started"
            )
        if self.kept_packed:
            lines.append(
                f"kept {_plural(self.kept_packed, 'unreferenced packed artifact')} while"
                " runs are in progress; they are deleted by a gc when none is"
            )
        return lines + self.notes


def collect_garbage(
    project: Project,
    keep_last: int | None = None,
    older_than_days: float | None = None,
    *,
    dry_run: bool = False,
    grace: float = GRACE_SECONDS,
) -> GarbageReport:
    """Delete finished runs a policy selects, then artifacts nothing refers to any more.

    See the module documentation for the policy and the safety rule.

    Args:
        project: the project.
        keep_last: keep the N most recent finished runs of each pipeline.
        older_than_days: keep the runs that ended less than this many days ago.
        dry_run: delete nothing; report what would be deleted.
        grace: seconds during which a modified file is kept whatever refers to it.

    Returns:
        What was (or would be) deleted and kept.

    Raises:
        FlowyMLError: a negative option, a record that cannot be read, or a database that
            stayed locked or failed (what was deleted before stays deleted; run it again).
    """
    if (keep_last is not None and keep_last < 0) or (
        older_than_days is not None and older_than_days < 0
    ):
        raise FlowyMLError("gc: --keep-last and --older-than take a number >= 0")
    report = GarbageReport(dry_run=dry_run, grace=grace)
    db_path = project.home / "flowyml.db"
    if not db_path.exists():
        return report  # no run was ever recorded here, and gc creates nothing
    store = project.artifact_store()
    try:
        project.run_store.reconcile_crashed()
        doomed = _delete_runs(db_path, keep_last, older_than_days, report)
        if isinstance(store, LocalArtifactStore):
            _sweep(db_path, store.path, doomed, report)
        else:
            report.notes.append(f"artifacts not collected: {store.root} is not a local store")
    except sqlite3.Error as exc:
        raise FlowyMLError(
            f"gc stopped on {project.home}: {type(exc).__name__}: {exc}. What it deleted"
            " stays deleted, and records go before the artifacts they name, so no run points"
            " at a deleted artifact; run gc again to finish"
        ) from exc
    return report


def _delete_runs(
    db_path: Path, keep_last: int | None, older_than_days: float | None, report: GarbageReport
) -> set[str]:
    """Delete (or count) the runs the policy selects; return their ids."""
    delete = not report.dry_run
    with _transaction(db_path, write=delete) as conn:
        doomed = sorted(_select_runs(_runs(conn), keep_last, older_than_days, time.time()))
        report.log_entries = _delete_rows(conn, "logs", "run_id", doomed, delete)
        report.step_runs = _delete_rows(conn, "step_runs", "run_id", doomed, delete)
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='run_shapes'").fetchone():
            _delete_rows(conn, "run_shapes", "run_id", doomed, delete)
            if delete:  # graphs no remaining run has
                conn.execute(
                    "DELETE FROM pipeline_graphs WHERE key NOT IN"
                    " (SELECT graph_key FROM run_shapes)"
                )
        # The status test is a guard only: no run can finish or start under this lock.
        finished = f" AND status IN ({_marks(_FINISHED)})"
        report.runs = _delete_rows(conn, "runs", "run_id", doomed, delete, finished, _FINISHED)
    return set(doomed)


def _select_runs(
    runs: Sequence[_Run], keep_last: int | None, older_than_days: float | None, now: float
) -> set[str]:
    """The finished runs no rule keeps (``runs`` newest first)."""
    if keep_last is None and older_than_days is None:
        return set()
    resumed = {run.resumed_from for run in runs if not run.finished and run.resumed_from}
    seen: dict[str, int] = {}  # finished runs of each pipeline met so far
    doomed: set[str] = set()
    for run in runs:
        if not run.finished:
            continue
        rank = seen.get(run.pipeline, 0)
        seen[run.pipeline] = rank + 1
        kept = (
            run.run_id in resumed
            or (keep_last is not None and rank < keep_last)
            or (older_than_days is not None and run.ended_at > now - older_than_days * _DAY)
        )
        if not kept:
            doomed.add(run.run_id)
    return doomed
