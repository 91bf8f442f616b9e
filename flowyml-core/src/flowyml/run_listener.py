"""Callbacks through which a run reports progress (the CLI's live display uses them)."""

from __future__ import annotations

from flowyml.results import ExecutionResult

__all__ = ["RunListener"]


class RunListener:
    """Receives run events; every method is a no-op unless overridden.

    Methods are called from the orchestrating thread, one at a time.
    """

    def run_started(self, run_id: str, pipeline: str, backend: str, steps: list[str]) -> None:
        """A run began; ``steps`` lists every step in execution order."""

    def step_started(self, step_name: str) -> None:
        """A step was dispatched."""

    def step_finished(self, result: ExecutionResult) -> None:
        """A step finished (succeeded, failed, cached or skipped)."""

    def run_finished(self, run_id: str, status: str) -> None:
        """The run finished with ``status``."""
