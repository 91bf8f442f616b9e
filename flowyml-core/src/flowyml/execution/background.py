"""Running the core scheduler in a background thread, for remote orchestrators.

A remote orchestrator's ``run_pipeline`` must return at once: backends that dispatch
step groups themselves (one container or one cloud job per group) hand the core
:class:`~flowyml.execution.scheduler.Scheduler` to :func:`start_background_run`, which runs it
in a thread and reports the final status once, whatever happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowyml.records.status import ExecutionStatus

if TYPE_CHECKING:
    from flowyml.definition.context import Context
    from flowyml.execution.scheduler import Scheduler

__all__ = ["start_background_run"]


def start_background_run(
    orchestrator: Scheduler,
    pipeline: Any,
    run_id: str,
    context: Context,
    inputs: dict[str, Any],
    *,
    resume_from: str | None,
    is_cancelled: Callable[[], bool],
    on_finished: Callable[[ExecutionStatus, str | None], None],
    thread_name: str,
) -> threading.Thread:
    """Run ``orchestrator`` over ``pipeline`` in a daemon thread; returns the started thread.

    Args:
        orchestrator: the scheduler, bound to the backend's executor and stores.
        pipeline: the pipeline.
        run_id: the run id.
        context: the run's parameters.
        inputs: values of inputs no step produces.
        resume_from: a failed run whose completed steps are reused.
        is_cancelled: whether the run was stopped; it then ends CANCELLED in the run store.
        on_finished: called once with the final status and error, even when the scheduler
            raised.
        thread_name: the thread's name.
    """

    def execute() -> None:
        status, error = ExecutionStatus.FAILED, None
        try:
            run = orchestrator.run(pipeline, run_id, context, inputs, resume_from=resume_from)
            status, error = run.status, run.error
        except BaseException as exc:  # on_finished must be told whatever happened
            error = f"{type(exc).__name__}: {exc}"
        if is_cancelled():
            status, error = (
                ExecutionStatus.CANCELLED,
                "stopped (by stop_run, or a signal to its owner)",
            )
            orchestrator.run_store.finish_run(run_id, status, error)
        on_finished(status, error)

    thread = threading.Thread(target=execute, name=thread_name, daemon=True)
    thread.start()
    return thread
