"""The scheduler's bookkeeping of one run: which groups wait on which, what ran, what
failed, which artifacts exist."""

from __future__ import annotations

from flowyml.definition.dag import DAG
from flowyml.definition.grouping import StepGroup
from flowyml.records.results import ExecutionResult
from flowyml.storage.artifact import Artifact

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
