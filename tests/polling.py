"""Waiting for something to happen in tests: poll with a deadline, never a bare sleep."""

from __future__ import annotations

import time
from typing import Any

import pytest


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def stored_output(run_id: str, step: str | None = None) -> str:
    """What the run store holds of a run's output now, read on a connection of its own as
    another process (a dashboard, ``flowyml runs logs``) would; "" before the run exists."""
    from flowyml.errors import RunNotFoundError
    from flowyml.project.folder import open_project
    from flowyml.storage.database import Database
    from flowyml.storage.run_store import RunStore

    db = Database(open_project().home / "flowyml.db")
    try:
        return "".join(text for _, _, text in RunStore(db).get_logs(run_id, step))
    except RunNotFoundError:
        return ""
    finally:
        db.close()
