"""Small helpers for tests that drive the fake through the official client.

``job_manifest`` builds a one-container Job body (a dict: the client accepts dicts);
``wait_for_job`` and ``eventually`` poll with a deadline instead of sleeping;
``job_pods`` lists a Job's pods by the ``job-name`` label the controller sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["BASE_IMAGE", "eventually", "job_manifest", "job_pods", "wait_for_job"]

BASE_IMAGE = "flowyml-test/python:bookworm"
T = TypeVar("T")


def job_manifest(
    name: str,
    command: Sequence[str],
    *,
    image: str = BASE_IMAGE,
    labels: Mapping[str, str] | None = None,
    env: Sequence[Mapping[str, Any]] = (),
    resources: Mapping[str, Any] | None = None,
    backoff_limit: int = 0,
    active_deadline_seconds: int | None = None,
    node_selector: Mapping[str, str] | None = None,
    volumes: Sequence[Mapping[str, Any]] = (),
    volume_mounts: Sequence[Mapping[str, Any]] = (),
    grace_seconds: int = 1,
) -> dict[str, Any]:
    """A batch/v1 Job that runs ``command`` once in container ``main``."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "command": list(command),
        "env": [dict(e) for e in env],
        "resources": dict(resources or {}),
        "volumeMounts": [dict(m) for m in volume_mounts],
    }
    spec: dict[str, Any] = {
        "backoffLimit": backoff_limit,
        "template": {
            "metadata": {"labels": dict(labels or {})},
            "spec": {
                "restartPolicy": "Never",
                "containers": [container],
                "volumes": [dict(v) for v in volumes],
                "terminationGracePeriodSeconds": grace_seconds,
                "nodeSelector": dict(node_selector or {}),
            },
        },
    }
    if active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = active_deadline_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": spec,
    }


def eventually(probe: Callable[[], T | None], timeout: float = 20.0, what: str = "it") -> T:
    """Poll ``probe`` until it returns something truthy; its value.

    Raises:
        AssertionError: If ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def wait_for_job(batch: Any, namespace: str, name: str, timeout: float = 30.0) -> Any:
    """The ``V1Job`` once it has a ``Complete`` or ``Failed`` condition."""

    def finished() -> Any:
        job = batch.read_namespaced_job(name, namespace)
        kinds = {c.type for c in job.status.conditions or [] if c.status == "True"}
        return job if kinds & {"Complete", "Failed"} else None

    return eventually(finished, timeout, f"job {namespace}/{name} finishing")


def job_pods(core: Any, namespace: str, job: str) -> list[Any]:
    """The ``V1Pod``s of a Job, by its ``job-name`` label."""
    return list(core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items)
