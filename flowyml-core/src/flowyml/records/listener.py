"""Callbacks through which a run reports progress (the CLI's live display uses them)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowyml.records.results import ExecutionResult


__all__ = ["RunListener"]


class RunListener:
    """Receives run events; every method but :meth:`step_output` is a no-op unless overridden.

    The run's and steps' starts and ends come from the orchestrating thread, one at a time;
    :meth:`step_output` comes from the threads running steps or reading their output.
    """

    def run_started(self, run_id: str, pipeline: str, backend: str, steps: list[str]) -> None:
        """A run began; ``steps`` lists every step in execution order."""

    def step_started(self, step_name: str) -> None:
        """A step was dispatched."""

    def step_finished(self, result: ExecutionResult) -> None:
        """A step finished (succeeded, failed, cached or skipped)."""

    def run_finished(self, run_id: str, status: str) -> None:
        """The run finished with ``status``."""

    def step_output(self, step_name: str, text: str) -> None:
        """A step printed ``text`` (whole lines, each ending with a newline) while running.

        Called only when the run echoes what steps print (``Pipeline.run(echo_logs=...)``
        or the backend's ``echo_logs`` setting), between the step's start and its end, and
        possibly from several threads at once. ``step_name`` is the step, or the group
        whose steps share one process (``execution_group``). The default writes ``text``
        unchanged to stdout, as a run without a listener does.
        """
        sys.stdout.write(text)
        sys.stdout.flush()
