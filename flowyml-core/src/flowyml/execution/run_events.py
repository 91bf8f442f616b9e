"""Run-event hooks: a run's events, passed to the caller's listener and to every plugin.

The core scheduler reports a run's events to a :class:`~flowyml.records.listener.RunListener`
on every backend (our remote orchestrators run it in a thread of the owning process).
``Pipeline.run`` wraps its listener in :class:`RunEvents`, which also calls the run-event
hooks of :mod:`flowyml.plugins.hookspecs` when a plugin implements one. Plugins then see the
order the hook specifications promise: the run's start, each step's start before its end,
and the run's end last, with the status ``Pipeline.run`` reports, even when the run was
interrupted; a remote orchestrator that never calls its listener has its run told from the
finished run's results. A hook that raises is reported once per run on stderr and the run
goes on.

With no plugin implementing these hooks, the caller's listener is handed down unchanged:
a run pays one look-up of the implementations, and nothing per step.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flowyml.errors import RunInterrupted
from flowyml.records.listener import RunListener
from flowyml.records.results import ExecutionResult

if TYPE_CHECKING:
    import logging

    from flowyml.plugins.manager import HookImplementation
    from flowyml.storage.pipeline_run import PipelineRun

__all__ = ["RUN_EVENT_HOOKS", "RunEvents"]

RUN_EVENT_HOOKS = (
    "flowyml_run_started",
    "flowyml_step_started",
    "flowyml_step_finished",
    "flowyml_run_finished",
)


def _log() -> logging.Logger:
    """This module's logger, imported when a hook is reported.

    Logging, not warnings.warn: hooks of a remote run are called on a background thread,
    where `-W error` would turn the report into an exception. Without logging configured,
    Python prints WARNING records on stderr, one line each.
    """
    import logging

    return logging.getLogger(__name__)


class RunEvents:
    """The events of one run as ``Pipeline.run`` wires them.

    Use as a context manager around the backend's run: pass ``listener`` to the backend,
    and the finished run through :meth:`ended`; a run that raises instead (interrupted,
    or a backend error) ends for the plugins on the way out.

    Args:
        listener: the caller's listener, or ``None``.
    """

    def __init__(self, listener: RunListener | None) -> None:
        from flowyml.plugins.manager import get_plugin_manager

        manager = get_plugin_manager()
        hooks = {name: manager.implementations(name) for name in RUN_EVENT_HOOKS}
        self._plugins = _PluginListener(listener, hooks) if any(hooks.values()) else None
        self.listener: RunListener | None = self._plugins or listener

    def ended(self, run: PipelineRun) -> PipelineRun:
        """Tell the plugins the run ended with ``run.status``; returns ``run``."""
        if self._plugins is not None:
            self._plugins.close(run.status.value, run)
        return run

    def __enter__(self) -> RunEvents:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._plugins is None or exc is None:
            return
        if isinstance(exc, RunInterrupted) and exc.run is not None:
            self._plugins.close(str(exc.run.status.value), exc.run)
        else:
            self._plugins.close("cancelled" if isinstance(exc, KeyboardInterrupt) else "failed")


class _PluginListener(RunListener):
    """Passes every event on to the caller's listener, and to the plugins' hooks.

    The plugins' view is kept in the promised order: events before the run's start or
    after its end are dropped (a remote backend's scheduler thread may still report a step
    after an interrupted run was given up), a step reported finished without having
    started (reused from the run being resumed) is started first, and a step announced
    again while running (its inputs were recomputed) is started once. The run's end comes
    from :meth:`close`, with the status the run is recorded with, not from the scheduler:
    a remote backend may still turn a failed run into a cancelled one after it.
    """

    def __init__(
        self, listener: RunListener | None, hooks: dict[str, list[HookImplementation]]
    ) -> None:
        self.listener = listener or RunListener()
        self._hooks = hooks
        self._track_steps = bool(hooks["flowyml_step_started"] or hooks["flowyml_step_finished"])
        self._lock = threading.Lock()  # the owning thread may end a run a backend still runs
        self._run_id: str | None = None
        self._closed = False
        self._running: dict[str, None] = {}  # started, not finished; in starting order
        self._reported: set[tuple[str, str]] = set()

    # -- RunListener ---------------------------------------------------------------------
    def run_started(self, run_id: str, pipeline: str, backend: str, steps: list[str]) -> None:
        self.listener.run_started(run_id, pipeline, backend, steps)
        with self._lock:
            if self._run_id is not None or self._closed:
                return
            self._run_id = run_id
            self._call(
                "flowyml_run_started",
                {"run_id": run_id, "pipeline": pipeline, "backend": backend, "steps": list(steps)},
            )

    def step_output(self, step_name: str, text: str) -> None:
        self.listener.step_output(step_name, text)  # no hook takes output: the caller's only

    def step_started(self, step_name: str) -> None:
        self.listener.step_started(step_name)
        if not self._track_steps:
            return
        with self._lock:
            if self._run_id is None or self._closed or step_name in self._running:
                return
            self._running[step_name] = None
            self._call("flowyml_step_started", {"run_id": self._run_id, "step_name": step_name})

    def step_finished(self, result: ExecutionResult) -> None:
        self.listener.step_finished(result)
        if not self._track_steps:
            return
        with self._lock:
            if self._run_id is None or self._closed:
                return
            name = result.step_name
            if name in self._running:
                del self._running[name]
            else:
                self._call("flowyml_step_started", {"run_id": self._run_id, "step_name": name})
            self._call("flowyml_step_finished", {"run_id": self._run_id, "result": result})

    def run_finished(self, run_id: str, status: str) -> None:
        self.listener.run_finished(run_id, status)

    # -- the run's end -------------------------------------------------------------------
    def close(self, status: str, run: PipelineRun | None = None) -> None:
        """Tell the plugins the run ended with ``status``; later events are dropped.

        Steps still running for the plugins end first, as ``run`` records them, or
        cancelled: a remote backend's scheduler may not have reported them yet. A run the
        backend never reported (a remote orchestrator that ignores its listener) is told
        from ``run`` now, in the same order, so plugins hear of every run.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            results = run.step_results if run is not None else {}
            if self._run_id is None:
                if run is None:
                    return  # the run never started: nothing to end
                self._replay(run)
            for name in self._running:
                result = results.get(name) or ExecutionResult(
                    step_name=name,
                    success=False,
                    cancelled=True,
                    error=f"the run ended ({status}) before the step reported its end",
                )
                self._call("flowyml_step_finished", {"run_id": self._run_id, "result": result})
            self._running.clear()
            self._call("flowyml_run_finished", {"run_id": self._run_id, "status": status})

    def _replay(self, run: PipelineRun) -> None:
        self._run_id = run.run_id
        steps = [*run.step_results, *(name for name in run.not_run if name not in run.step_results)]
        self._call(
            "flowyml_run_started",
            {
                "run_id": run.run_id,
                "pipeline": run.pipeline_name,
                "backend": run.backend,
                "steps": steps,
            },
        )
        for name, result in run.step_results.items():
            self._call("flowyml_step_started", {"run_id": run.run_id, "step_name": name})
            self._call("flowyml_step_finished", {"run_id": run.run_id, "result": result})

    def _call(self, hook: str, kwargs: dict[str, Any]) -> None:
        for impl in self._hooks[hook]:
            try:
                impl.call(kwargs)
            except Exception as exc:  # a plugin's bug must not fail the run: it is reported
                self._report(impl, hook, exc)

    def _report(self, impl: HookImplementation, hook: str, exc: Exception) -> None:
        key = (impl.plugin, hook)
        if key in self._reported:
            return
        self._reported.add(key)
        message = str(exc).strip().splitlines()
        _log().warning(
            "flowyml: %s raised in %s during run %s (reported once per run; the run goes on): %s%s",
            impl,
            hook,
            self._run_id,
            type(exc).__name__,
            f": {message[0]}" if message else "",
        )
