"""Conformance: what a step prints is captured and kept with the run."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from flowyml.execution.remote import RemoteOrchestrator
from flowyml.testing.harness import ConformanceBase, ConformanceProject
from flowyml.testing.pipelines import talking

__all__ = ["LogTests"]


class LogTests(ConformanceBase):
    """A step's stdout and stderr lines reach its result or the run store (what
    ``flowyml runs logs`` shows), and a remote orchestrator's ``get_run_logs`` and
    ``stream_logs``."""

    def test_what_a_step_prints_is_captured_with_its_run(
        self, conformance: ConformanceProject
    ) -> None:
        token = os.urandom(4).hex()
        run = conformance.run(talking, context={"token": token})
        assert run.success, run.error
        captured = run.step_results["chatter"].logs + conformance.stored_logs(run.run_id, "chatter")
        assert f"conformance stdout {token}" in captured, captured
        assert f"conformance stderr {token}" in captured, captured

    def test_get_run_logs_and_stream_logs_return_what_a_step_printed(
        self, conformance: ConformanceProject
    ) -> None:
        self.require_remote(conformance, "get_run_logs and stream_logs")
        token = os.urandom(4).hex()
        run = conformance.run(talking, context={"token": token})
        assert run.success, run.error
        backend = conformance.new_backend()  # no state of the run: as another process asks
        assert isinstance(backend, RemoteOrchestrator)
        logs = backend.get_run_logs(run.run_id)
        assert f"conformance stdout {token}" in logs, logs
        entries = _streamed(backend, run.run_id, self.stop_seconds)
        assert all({"timestamp", "severity", "message", "is_finished"} <= set(e) for e in entries)
        assert entries and entries[-1]["is_finished"] is True
        assert not any(e["is_finished"] for e in entries[:-1])
        assert any(f"conformance stdout {token}" in str(e["message"]) for e in entries), entries


def _streamed(backend: RemoteOrchestrator, job_id: str, timeout: float) -> list[dict[str, Any]]:
    """Every entry ``stream_logs`` yields for a finished run; fails if it never ends."""
    entries: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: entries.extend(backend.stream_logs(job_id, poll_interval=0.1)),
        name="conformance-stream-logs",
        daemon=True,
    )
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        pytest.fail(f"stream_logs of the finished run {job_id} still streams after {timeout} s")
    return entries
