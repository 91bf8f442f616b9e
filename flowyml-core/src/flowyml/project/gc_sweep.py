"""The artifact half of ``flowyml gc``: delete what no remaining record names, under the
safety rule of :mod:`flowyml.project.garbage` (which says what is collected and why)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlparse

from flowyml.errors import FlowyMLError
from flowyml.records.status import ExecutionStatus

if TYPE_CHECKING:
    from flowyml.project.garbage import GarbageReport

FINISHED = tuple(sorted(status.value for status in ExecutionStatus if status.is_finished))
_CHUNK = 500  # SQL parameters per statement, well below SQLite's limit
__all__ = [
    "FINISHED",
    "RecordedRun",
    "delete_rows",
    "marks",
    "plural",
    "recorded_runs",
    "size",
    "sweep",
    "transaction",
]

LOCK_TIMEOUT = 30.0  # seconds to wait for another writer, as the run store does
# File times come from the file system's clock, which may lag time.time() (a coarse tick,
# a file server): a file a run wrote just after it started may look a little older.
_CLOCK_SLACK = 5.0


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    pipeline: str
    finished: bool
    started_at: float
    ended_at: float
    resumed_from: str | None


def delete_rows(
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
        where = f"{column} IN ({marks(chunk)}){condition}"
        params = (*chunk, *condition_params)
        (found,) = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()
        count += found
        if delete:
            conn.execute(f"DELETE FROM {table} WHERE {where}", params)
    return count


def recorded_runs(conn: sqlite3.Connection) -> list[RecordedRun]:
    """Every run, newest first."""
    rows = conn.execute(
        "SELECT run_id, pipeline, status, started_at, COALESCE(finished_at, started_at),"
        " resumed_from FROM runs ORDER BY started_at DESC, rowid DESC"
    )
    return [RecordedRun(r[0], r[1], r[2] in FINISHED, r[3], r[4], r[5]) for r in rows]


@dataclass(frozen=True)
class _File:
    path: Path
    size: int
    mtime: float


def sweep(db_path: Path, root: Path, doomed: set[str], report: GarbageReport) -> None:
    """Delete (or count) what no remaining record names, under the safety rule.

    In a dry run the runs in ``doomed`` are still recorded; their references are ignored.
    """
    objects = root / "objects"
    pack_path = root / "objects.db"
    packed_deleted = False
    with transaction(db_path, write=not report.dry_run) as conn:
        runs = recorded_runs(conn)
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
                report.packed_artifacts = delete_rows(
                    pack, "objects", "name", unreferenced, delete_packed
                )
                report.artifact_bytes += sum(packed[name] for name in unreferenced)
                packed_deleted = delete_packed and bool(unreferenced)
        live = {run.run_id for run in runs} - doomed
        _delete_run_folders(root / "named" / "runs", live, cutoff, report)
        if not starts:
            _delete_temporary(root / "tmp", cutoff, report)
        report.cache_entries = delete_rows(conn, "cache", "key", gone, not report.dry_run)
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
        conn = sqlite3.connect(pack_path, timeout=LOCK_TIMEOUT, isolation_level=None)
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
def transaction(path: Path, write: bool) -> Iterator[sqlite3.Connection]:
    """A transaction on ``path``; a write transaction takes the write lock at once."""
    conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
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
    with transaction(path, write) as conn:
        yield conn


def marks(values: Sequence[str]) -> str:
    return ",".join("?" * len(values))


def plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def size(count: int) -> str:
    """``512 bytes`` or ``1.5 MiB (1572864 bytes)``."""
    if count < 1024:
        return plural(count, "byte")
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit} ({count} bytes)"
