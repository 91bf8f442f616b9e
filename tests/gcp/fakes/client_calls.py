"""Calls of the real Google clients that tests against the fakes keep repeating.

Building a one-container CustomJob, polling a job to its end, reading a job's log: the
tests of the fakes use these, and backend tests may too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from .project import PROJECT

__all__ = ["custom_job", "eventually", "job_id_of", "job_log_entries", "wait_until_finished"]

T = TypeVar("T")


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Call ``read`` until ``done`` holds for its result, and return that result.

    Raises:
        AssertionError: If ``done`` still does not hold after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        time.sleep(0.05)


def custom_job(image: str, *args: str, labels: dict[str, str] | None = None, **extra: Any) -> Any:
    """A ``CustomJob`` running ``image`` with ``args`` on one n1-standard-4 replica.

    Args:
        extra: More ``container_spec`` fields, e.g. ``env=[{"name": ..., "value": ...}]``.
    """
    from google.cloud import aiplatform_v1

    container = {"image_uri": image, "args": list(args), **extra}
    return aiplatform_v1.CustomJob(
        display_name="fake-vertex-test",
        labels=labels or {},
        job_spec={
            "worker_pool_specs": [
                {
                    "machine_spec": {"machine_type": "n1-standard-4"},
                    "replica_count": 1,
                    "container_spec": container,
                }
            ]
        },
    )


def job_id_of(name: str) -> str:
    """The numeric id at the end of ``projects/P/locations/L/customJobs/ID``."""
    return name.rsplit("/", 1)[1]


def wait_until_finished(job_client: Any, name: str, timeout: float = 30.0) -> Any:
    """Poll GetCustomJob until the job is SUCCEEDED, FAILED or CANCELLED; return it."""
    from google.cloud.aiplatform_v1 import JobState

    terminal = {
        JobState.JOB_STATE_SUCCEEDED,
        JobState.JOB_STATE_FAILED,
        JobState.JOB_STATE_CANCELLED,
    }
    return eventually(
        lambda: job_client.get_custom_job(name=name),
        lambda job: job.state in terminal,
        timeout,
    )


def job_log_entries(logging_client: Any, job_id: str, **request: Any) -> list[Any]:
    """Every ``LogEntry`` of a fake Vertex job (pager followed); ``request`` overrides fields."""
    query = {
        "resource_names": [f"projects/{PROJECT}"],
        "filter": f'resource.type="ml_job" AND resource.labels.job_id="{job_id}"',
        **request,
    }
    return list(logging_client.list_log_entries(request=query))
