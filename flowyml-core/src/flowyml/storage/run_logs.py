"""Step output in the run store, while a step runs and after it ended.

Two kinds of rows share the ``logs`` table:

* *live* rows (``live=1``): what a running step (or a group of steps sharing one process
  or container) printed, appended line by line as the owning process reads it, and
  committed with the next batch (within about 0.2 s). A page or a ``flowyml runs logs``
  in another process sees a running step's output through them; for a run whose owner
  died they are the only record of what its steps printed.
* *final* rows (``live=0``): the whole output of a step, written when the step ended.

A reader gets a step's final rows once it has them, else its live rows. When the run
ends, the live rows that final rows now cover are deleted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flowyml.storage.database import Database
from flowyml.storage.run_shapes import read_shape

__all__ = ["LiveLogs", "LogRow", "read_log_rows", "read_logs"]

# A live row is shown only while its step has no final rows.
_SHOWN = (
    "(live=0 OR NOT EXISTS (SELECT 1 FROM logs f WHERE f.run_id=logs.run_id"
    " AND f.step=logs.step AND f.live=0))"
)


@dataclass(frozen=True)
class LogRow:
    """One row of a run's output.

    Attributes:
        id: increasing with every row written: a reader that passes the last ``id`` it saw
            to :meth:`~flowyml.storage.run_store.RunStore.log_rows` gets only newer rows.
        step: the step, or the execution group whose steps share one process.
        ts: when the text was read (live) or the step ended (final).
        text: one or more whole lines.
        live: written while the step ran; superseded by the step's final rows.
    """

    id: int
    step: str
    ts: float
    text: str
    live: bool


class LiveLogs:
    """Appends the live output of this process's runs, and drops what final logs cover.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._runs: set[str] = set()  # runs with live rows written by this process
        self._lock = threading.Lock()

    def append(self, run_id: str, name: str, text: str) -> None:
        """Queue live output of step (or group) ``name``."""
        with self._lock:
            self._runs.add(run_id)
        self.db.write(
            "INSERT INTO logs (run_id, step, ts, text, live) VALUES (?,?,?,?,1)",
            (run_id, name, time.time(), text),
        )

    def run_finished(self, run_id: str) -> None:
        """Delete the live rows of a finished run that final rows cover: those of steps
        with final rows, and those of groups all of whose steps have final rows (the
        groups are read from the run's graph)."""
        with self._lock:
            if run_id not in self._runs:
                return
            self._runs.discard(run_id)
        self.db.flush()
        finals = {
            row[0]
            for row in self.db.query(
                "SELECT DISTINCT step FROM logs WHERE run_id=? AND live=0", (run_id,)
            )
        }
        covered = set(finals)
        for group, members in _groups(self.db, run_id).items():
            if all(step in finals for step in members):
                covered.add(group)
        for name in covered:
            self.db.write("DELETE FROM logs WHERE run_id=? AND step=? AND live=1", (run_id, name))
        self.db.flush()


def _groups(db: Database, run_id: str) -> dict[str, list[str]]:
    shape = read_shape(db, run_id)
    if shape is None:
        return {}
    groups: dict[str, list[str]] = {}
    for step in shape.get("steps", []):
        if step.get("group"):
            groups.setdefault(step["group"], []).append(step["name"])
    return groups


def read_logs(db: Database, run_id: str, step: str | None) -> list[tuple[str, float, str]]:
    """(step, timestamp, text) of a run, oldest first: final rows, and the live rows of
    steps that have none yet."""
    sql = f"SELECT step, ts, text FROM logs WHERE run_id=? AND {_SHOWN}"
    params: list[Any] = [run_id]
    if step:
        sql += " AND step=?"
        params.append(step)
    return [(r[0], r[1], r[2]) for r in db.query(sql + " ORDER BY ts, rowid", params)]


def read_log_rows(db: Database, run_id: str, after: int, limit: int) -> list[LogRow]:
    """Every row of a run written after row ``after``, live and final, in order."""
    rows = db.query(
        "SELECT rowid, step, ts, text, live FROM logs WHERE run_id=? AND rowid>?"
        " ORDER BY rowid LIMIT ?",
        (run_id, after, limit),
    )
    return [LogRow(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]
