"""The shape of each run's pipeline (steps, groups, which step produces each input), as
recorded when the run starts; a page draws a run's DAG from it without importing the
pipeline. A graph is stored once (``pipeline_graphs``, by its hash) and each run names
its graph (``run_shapes``), so running a pipeline again adds one short row."""

from __future__ import annotations

import json
from typing import Any

from flowyml.definition.fingerprint import stable_hash
from flowyml.storage.database import Database

__all__ = ["RunShapes"]


class RunShapes:
    """What records run shapes, remembering the graphs it already wrote."""

    def __init__(self) -> None:
        # Graphs this process wrote, by their JSON, with their keys. A pipeline's JSON is
        # one string computed once per DAG, so this lookup does not hash it again.
        self._keys: dict[str, str] = {}

    def statements(self, run_id: str, graph: str) -> list[tuple[str, tuple[Any, ...]]]:
        """What records ``graph`` (JSON) as the shape of run ``run_id``."""
        key = self._keys.get(graph)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if key is None:
            key = stable_hash(graph)
            statements.append(("INSERT OR IGNORE INTO pipeline_graphs VALUES (?,?)", (key, graph)))
            self._keys[graph] = key
        return [*statements, ("INSERT INTO run_shapes VALUES (?,?)", (run_id, key))]


def read_shape(db: Database, run_id: str) -> dict[str, Any] | None:
    """The shape of run ``run_id`` in ``db``, or None when it has none recorded."""
    rows = db.query(
        "SELECT g.graph FROM run_shapes s JOIN pipeline_graphs g ON g.key=s.graph_key"
        " WHERE s.run_id=?",
        (run_id,),
    )
    return json.loads(rows[0][0]) if rows else None
