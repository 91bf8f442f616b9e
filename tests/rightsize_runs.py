"""Recorded runs with known usage, for the ``flowyml rightsize`` tests."""

from __future__ import annotations

from pathlib import Path

from flowyml import ExecutionResult, ExecutionStatus, ResourceUsage
from flowyml.project.folder import Project, open_project

MIB = 1024**2
GIB = 1024**3


def usage(
    peak_mib: float | None,
    cores: float,
    wall: float = 100.0,
    *,
    exact: bool = True,
    oom_at_mib: int | None = None,
) -> ResourceUsage:
    """A measurement: ``cores`` busy on average over ``wall`` seconds."""
    return ResourceUsage(
        wall_seconds=wall,
        cpu_user_seconds=cores * wall * 0.75,
        cpu_system_seconds=cores * wall * 0.25,
        peak_memory_bytes=None if peak_mib is None else int(peak_mib * MIB),
        gpu_peak_memory_bytes=None,
        exact=exact,
        source="rusage" if exact else "thread",
        memory_limit_bytes=None if oom_at_mib is None else oom_at_mib * MIB,
        oom_killed=oom_at_mib is not None,
    )


class RecordedRuns:
    """Writes runs of one project's run store, each started at a given time."""

    def __init__(self, root: Path) -> None:
        self.project: Project = open_project(root)
        self.store = self.project.run_store

    def add(
        self,
        run_id: str,
        at: float,
        steps: dict[str, ResourceUsage | None],
        *,
        pipeline: str = "training",
        status: ExecutionStatus = ExecutionStatus.SUCCESS,
        failed_steps: tuple[str, ...] = (),
        cached_steps: tuple[str, ...] = (),
        pipeline_ref: str | None = None,
    ) -> None:
        """One finished run; the steps of ``failed_steps`` failed, the others succeeded."""
        self.store.create_run(run_id, pipeline, "subprocess", {}, pipeline_ref=pipeline_ref)
        for name, measured in steps.items():
            self.store.step_started(run_id, name, at)
            failed = name in failed_steps
            self.store.step_finished(
                run_id,
                ExecutionResult(
                    step_name=name,
                    success=not failed,
                    cached=name in cached_steps,
                    error="killed" if failed else None,
                    usage=measured,
                ),
            )
        self.store.finish_run(run_id, status)
        self.store.db.write("UPDATE runs SET started_at=? WHERE run_id=?", (at, run_id))
        self.store.db.flush()
