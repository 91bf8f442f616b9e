"""The scheduler's bookkeeping of one run: which groups wait on which, what ran, what
failed, which artifacts exist."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flowyml.definition.dag import DAG
from flowyml.definition.grouping import StepGroup
from flowyml.errors import RunInterrupted
from flowyml.records.listener import RunListener
from flowyml.records.results import ExecutionResult
from flowyml.storage.artifact import Artifact
from flowyml.storage.run_store import RunStore

__all__ = ["RunState"]


class RunState:
    """Mutable bookkeeping of one run, owned by the orchestrating thread."""

    def __init__(self, groups: list[StepGroup], artifacts: dict[str, Artifact], dag: DAG) -> None:
        self.groups = groups
        self.by_name = {g.name: g for g in groups}
        self.group_of = {s.name: g for g in groups for s in g.steps}
        self.producers = dag.producers  # artifact name -> the step producing it
        self.condition_inputs = dag.condition_inputs  # step -> artifacts its condition reads
        self.recomputed: set[str] = set()  # lost artifacts recomputed once already
        self.children: dict[str, list[str]] = {g.name: [] for g in groups}
        for group in groups:
            for up in group.upstream:
                self.children[up].append(group.name)
        self.waiting = {g.name: len(g.upstream) for g in groups}
        self.artifacts = artifacts
        self.results: dict[str, ExecutionResult] = {}
        self.failed: list[str] = []
        self.blocked: set[str] = set()
        self.running: dict[str, float] = {}  # step dispatched, not finished -> when (epoch)
        self.stopped = False

    def cancel_running(
        self,
        run_id: str,
        exc: KeyboardInterrupt,
        run_store: RunStore,
        listener: RunListener,
        in_process: bool,
    ) -> str:
        """Record every step still running as cancelled; returns the run's error line.

        Args:
            run_id: the run.
            exc: what interrupted it.
            run_store: where the cancelled steps are recorded.
            listener: told of each cancelled step.
            in_process: the steps run on this process's threads (they cannot be killed).
        """
        why = str(exc) if isinstance(exc, RunInterrupted) else "interrupted by SIGINT"
        note = ""
        if in_process and self.running:
            note = (
                "; steps running in this process cannot be killed, so they were abandoned "
                "and the process does not wait for them"
            )
        now = time.time()
        for name, since in list(self.running.items()):
            result = ExecutionResult(
                step_name=name,
                success=False,
                cancelled=True,
                error=f"cancelled: the run was {why}{note}",
                duration_seconds=now - since,
                started_at=datetime.fromtimestamp(since, UTC),
                finished_at=datetime.fromtimestamp(now, UTC),
            )
            self.results[name] = result
            run_store.step_finished(run_id, result)
            listener.step_finished(result)
        self.running.clear()
        return f"run {why}{note}"
