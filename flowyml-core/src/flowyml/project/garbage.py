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

import contextlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from flowyml.storage.artifact_store import LocalArtifactStore
from flowyml.errors import FlowyMLError
from flowyml.project.folder import Project
from flowyml.records.status import ExecutionStatus

__all__ = ["GRACE_SECONDS", "GarbageReport", "collect_garbage"]

GRACE_SECONDS = 300.0
"""Artifact and temporary files modified less than this many seconds ago are kept."""

_FINISHED = tuple(sorted(status.value for status in ExecutionStatus if status.is_finished))
_CHUNK = 500  # SQL parameters per statement, well below SQLite's limit
_LOCK_TIMEOUT = 30.0  # seconds to wait for another writer, as the run store does
_DAY = 86400.0
# File times come from the file system's clock, which may lag time.time() (a coarse tick,
# a file server): a file a run wrote just after it started may look a little older.
_CLOCK_SLACK = 5.0


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


@dataclass(frozen=True)
class _Run:
    run_id: str
    pipeline: str
    finished: bool
    started_at: float
    ended_at: float
    resumed_from: str | None


@dataclass(frozen=True)
class _File:
    path: Path
    size: int
    mtime: float


def _delete_runs(
    db_path: Path, keep_last: int | None, older_than_days: float | None, report: GarbageReport
) -> set[str]:
    """Delete (or count) the runs the policy selects; return their ids."""
    delete = not report.dry_run
    with _transaction(db_path, write=delete) as conn:
        doomed = sorted(_select_runs(_runs(conn), keep_last, older_than_days, time.time()))
        report.log_entries = _delete_rows(conn, "logs", "run_id", doomed, delete)
        report.step_runs = _delete_rows(conn, "step_runs", "run_id", doomed, delete)
        # The status test is a guard only: no run can finish or start under this lock.
        finished = f" AND status IN ({_marks(_FINISHED)})"
        report.runs = _delete_rows(conn, "runs", "run_id", doomed, delete, finished, _FINISHED)
    return set(doomed)


def _delete_rows(
    conn: sqlite3.Connection,
    table: str,
    column: str,
    values: Sequence[str],
    delete: bool,
    condition: str = "",
    condition_params: Sequence[str] = (),
) -> int:
    """Count the rows of ``table`` whose ``column`` is one of ``values`` (and that meet
    ``condition``), and delete them if ``delete``."""
    count = 0
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        where = f"{column} IN ({_marks(chunk)}){condition}"
        params = (*chunk, *condition_params)
        (found,) = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()
        count += found
        if delete:
            conn.execute(f"DELETE FROM {table} WHERE {where}", params)
    return count


def _runs(conn: sqlite3.Connection) -> list[_Run]:
    """Every run, newest first."""
    rows = conn.execute(
        "SELECT run_id, pipeline, status, started_at, COALESCE(finished_at, started_at),"
        " resumed_from FROM runs ORDER BY started_at DESC, rowid DESC"
    )
    return [_Run(r[0], r[1], r[2] in _FINISHED, r[3], r[4], r[5]) for r in rows]


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


def _sweep(db_path: Path, root: Path, doomed: set[str], report: GarbageReport) -> None:
    """Delete (or count) what no remaining record names, under the safety rule.

    In a dry run the runs in ``doomed`` are still recorded; their references are ignored.
    """
    objects = root / "objects"
    pack_path = root / "objects.db"
    packed_deleted = False
    with _transaction(db_path, write=not report.dry_run) as conn:
        runs = _runs(conn)
        starts = [run.started_at for run in runs if not run.finished]
        report.in_progress = len(starts)
        cutoff = min([time.time() - report.grace, *(start - _CLOCK_SLACK for start in starts)])
        files = _object_files(objects)
        delete_packed = not report.dry_run and not starts
        with _pack(pack_path, write=delete_packed) as pack:
            packed: dict[str, int] = (
                dict(pack.execute("SELECT name, length(data) FROM objects")) if pack else {}
            )
            present = {file.path.name for file in files} | packed.keys()
            referenced, gone = _references(conn, objects, doomed, present)
            _delete_files(files, referenced, cutoff, report)
            unreferenced = sorted(name for name in packed if name not in referenced)
            if starts:
                report.kept_packed = len(unreferenced)
            elif pack is not None:
                report.packed_artifacts = _delete_rows(
                    pack, "objects", "name", unreferenced, delete_packed
                )
                report.artifact_bytes += sum(packed[name] for name in unreferenced)
                packed_deleted = delete_packed and bool(unreferenced)
        live = {run.run_id for run in runs} - doomed
        _delete_run_folders(root / "named" / "runs", live, cutoff, report)
        if not starts:
            _delete_temporary(root / "tmp", cutoff, report)
        report.cache_entries = _delete_rows(conn, "cache", "key", gone, not report.dry_run)
    if packed_deleted:
        _compact(pack_path, report)


def _references(
    conn: sqlite3.Connection, objects: Path, doomed: set[str], present: set[str]
) -> tuple[set[str], list[str]]:
    """The artifact names the remaining runs and cache entries refer to, and the keys of
    the cache entries one of whose artifacts in this store is gone."""
    referenced: set[str] = set()
    for run_id, step, outputs in conn.execute("SELECT run_id, step, outputs FROM step_runs"):
        if run_id not in doomed:
            what = f"step '{step}' of run '{run_id}'"
            referenced.update(name for name, _ in _object_refs(outputs, objects, what))
    gone: list[str] = []
    for key, step, outputs in conn.execute("SELECT key, step, outputs FROM cache"):
        refs = _object_refs(outputs, objects, f"the cache entry {key} of step '{step}'")
        if any(ours and name not in present for name, ours in refs):
            gone.append(key)
        else:
            referenced.update(name for name, _ in refs)
    return referenced, gone


def _object_refs(outputs: str, objects: Path, what: str) -> list[tuple[str, bool]]:
    """(object name, whether it is in this store) of each reference in ``outputs``.

    Names are content hashes, so a name is protected whichever root its URI has (a moved
    project, a mounted store): at worst an unused artifact is kept.
    """
    try:
        refs = json.loads(outputs)
    except json.JSONDecodeError as exc:
        raise FlowyMLError(
            f"the outputs recorded for {what} are not JSON ({exc}); gc deletes no artifact"
            " while it cannot tell which are used: delete that record or restore the database"
        ) from exc
    found: list[tuple[str, bool]] = []
    for ref in refs.values() if isinstance(refs, dict) else ():
        uri = ref.get("uri") if isinstance(ref, dict) else None
        if isinstance(uri, str):
            path = Path(unquote(urlparse(uri).path))
            found.append((path.name, path.parent.parent == objects))
    return found


def _object_files(objects: Path) -> list[_File]:
    """The files under ``objects/<xx>/``."""
    found: list[_File] = []
    if not objects.is_dir():
        return found
    for folder in os.scandir(objects):
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder.path):
            if entry.is_file():
                stat = entry.stat()
                found.append(_File(Path(entry.path), stat.st_size, stat.st_mtime))
    return found


def _delete_files(
    files: list[_File], referenced: set[str], cutoff: float, report: GarbageReport
) -> None:
    for file in files:
        if file.path.name in referenced:
            continue
        if file.mtime >= cutoff:
            report.kept_recent += 1
            continue
        outcome = "deleted" if report.dry_run else _unlink_unless_rewritten(file.path, cutoff)
        if outcome == "deleted":
            report.artifact_files += 1
            report.artifact_bytes += file.size
        elif outcome == "rewritten":
            report.kept_recent += 1


def _unlink_unless_rewritten(path: Path, cutoff: float) -> Literal["deleted", "rewritten", "gone"]:
    """Delete an artifact file unless a writer replaced it after it was looked at.

    Writers rename a complete file onto the content-addressed name; the file is moved
    aside first and its time checked there, and a fresh one is put back (the name fixes
    the bytes, so putting it back over a newer copy changes nothing).
    """
    aside = path.with_name(f"{path.name}.gc-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return "gone"  # another collection deleted it first
    if aside.stat().st_mtime >= cutoff:
        os.replace(aside, path)
        return "rewritten"
    aside.unlink()
    return "deleted"


def _delete_run_folders(
    named_runs: Path, live: set[str], cutoff: float, report: GarbageReport
) -> None:
    """Delete ``named/runs/<id>`` folders of runs no longer recorded, unless recent."""
    if not named_runs.is_dir():
        return
    for folder in named_runs.iterdir():
        if folder.name in live or not folder.is_dir():
            continue
        stats = [path.stat() for path in folder.rglob("*") if path.is_file()]
        if any(stat.st_mtime >= cutoff for stat in stats):
            continue
        report.run_files += len(stats)
        report.other_bytes += sum(stat.st_size for stat in stats)
        if not report.dry_run:
            shutil.rmtree(folder)


def _delete_temporary(tmp: Path, cutoff: float, report: GarbageReport) -> None:
    """Delete files of ``tmp/`` untouched since ``cutoff`` (called with no run in progress)."""
    if not tmp.is_dir():
        return
    for entry in os.scandir(tmp):
        if not entry.is_file():
            continue
        stat = entry.stat()
        if stat.st_mtime >= cutoff:
            continue
        report.temporary_files += 1
        report.other_bytes += stat.st_size
        if not report.dry_run:
            Path(entry.path).unlink(missing_ok=True)


def _compact(pack_path: Path, report: GarbageReport) -> None:
    """Give the pack's free pages back to the disk once they are a quarter of it."""
    try:
        conn = sqlite3.connect(pack_path, timeout=_LOCK_TIMEOUT, isolation_level=None)
        try:
            (free,) = conn.execute("PRAGMA freelist_count").fetchone()
            (total,) = conn.execute("PRAGMA page_count").fetchone()
            if free * 4 >= total:
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        # The rows are deleted either way: SQLite reuses their pages for later artifacts.
        report.notes.append(f"{pack_path} was not compacted ({exc}); later artifacts reuse it")


@contextlib.contextmanager
def _transaction(path: Path, write: bool) -> Iterator[sqlite3.Connection]:
    """A transaction on ``path``; a write transaction takes the write lock at once."""
    conn = sqlite3.connect(path, timeout=_LOCK_TIMEOUT, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


@contextlib.contextmanager
def _pack(path: Path, write: bool) -> Iterator[sqlite3.Connection | None]:
    """A transaction on the small-object pack, or ``None`` when there is none."""
    if not path.exists():
        yield None
        return
    with _transaction(path, write) as conn:
        yield conn


def _marks(values: Sequence[str]) -> str:
    return ",".join("?" * len(values))


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _size(count: int) -> str:
    """``512 bytes`` or ``1.5 MiB (1572864 bytes)``."""
    if count < 1024:
        return _plural(count, "byte")
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit} ({count} bytes)"
