"""``plan()``: the Jobs (and Secrets) a run would create, rendered as YAML, created never.

The documents come from the same :mod:`~flowyml_k8s.job_spec` functions a run uses, so
what is reviewed is what is submitted; Secrets are shown with their keys only.
"""

from __future__ import annotations

from typing import Any

import yaml

from flowyml.backend import ResourceConfig, group_steps, step_runner_args
from flowyml_k8s.config import KubernetesConfig
from flowyml_k8s.job_spec import JobPlan, job_manifest, secret_manifest

__all__ = ["render_plan"]


def render_plan(
    pipeline: Any,
    run_id: str,
    config: KubernetesConfig,
    namespace: str,
    *,
    image: str,
    store_uri: str,
    artifact_path: str | None,
    env: dict[str, str],
    secret_keys: list[str],
    default_resources: ResourceConfig | None,
) -> str:
    """Multi-document YAML: per group, in submission order, its Secret (if any) and Job."""
    documents: list[dict[str, Any]] = []
    for group in group_steps(pipeline.build_dag()):
        timeouts = [s.timeout for s in group.steps]
        timeout = None if None in timeouts else float(sum(t for t in timeouts if t))
        plan = JobPlan(
            run_id=run_id,
            group=group.name,
            steps=[s.name for s in group.steps],
            image=image,
            args=step_runner_args(run_id, group.name, store_uri),
            env=env,
            secret_keys=secret_keys,
            resources=group.resources.with_defaults(default_resources),
            timeout=timeout,
            artifact_path=artifact_path,
        )
        if secret_keys:
            documents.append(secret_manifest(plan, config, namespace, None))
        documents.append(job_manifest(plan, config, namespace))
    return yaml.safe_dump_all(documents, sort_keys=False)
