"""``plan()`` of the ``dask`` backend: the tasks a run would submit, without connecting.

There is no image (tasks run in the workers' own environment) and no machine type: each
group is one task, restricted to workers advertising the group's resources.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import Context, RunPlan, open_project, plan_run
from flowyml_dask.settings import dask_resources

__all__ = ["plan_dask_run"]


def plan_dask_run(
    executor: Any,
    pipeline: Any,
    *,
    context: Any = None,
    inputs: dict[str, Any] | None = None,
    stack: Any = None,
) -> RunPlan:
    """The plan of running ``pipeline`` on ``executor`` (a ``DaskExecutor``); no cluster
    is started or reached.

    Raises:
        PipelineDefinitionError: the pipeline cannot run as defined.
    """
    project = open_project()
    planned = plan_run(
        pipeline,
        "dask",
        context=Context.coerce(context, pipeline.context),
        inputs=inputs,
        project=project,
        artifact_store=project.artifact_store(stack),
        use_cache=stack.cache if stack is not None else True,
        executor=executor,
    )
    groups = [
        g.model_copy(update={"details": {"dask_resources": dask_resources(g.resources)}})
        for g in planned.groups
    ]
    where = executor.address or (
        f"a LocalCluster of {executor.n_workers} worker(s) started for the run"
    )
    return (
        planned.with_groups(groups)
        .with_backend_facts(
            details={"scheduler": where, "tasks": planned.jobs},
            notes=["no image: tasks run in the workers' own environment"],
        )
        .priced(executor.machine_catalog(project), by_machine_type=False)
    )
