"""Validation of the fake Vertex AI's requests, with Vertex's rules and clear messages.

Every violation is an :class:`RpcAbort` with INVALID_ARGUMENT (or UNIMPLEMENTED for
valid requests the fake does not run) naming the request field, so a backend bug shows
up as the same error it would get from Google.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import grpc

from .grpc_loopback import RpcAbort

__all__ = ["JobName", "parse_job_name", "parse_parent", "validate_custom_job"]

_PARENT = re.compile(r"^projects/([^/]+)/locations/([^/]+)$")
_JOB_NAME = re.compile(r"^projects/([^/]+)/locations/([^/]+)/customJobs/(\d+)$")
# Google Cloud label rules (ASCII subset): keys start with a lowercase letter.
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64
MAX_DISPLAY_NAME = 128


def _invalid(message: str) -> RpcAbort:
    return RpcAbort(grpc.StatusCode.INVALID_ARGUMENT, message)


@dataclass(frozen=True)
class JobName:
    """The parts of ``projects/P/locations/L/customJobs/ID``."""

    project: str
    location: str
    job_id: str

    @property
    def parent(self) -> str:
        """``projects/P/locations/L``."""
        return f"projects/{self.project}/locations/{self.location}"

    def __str__(self) -> str:
        return f"{self.parent}/customJobs/{self.job_id}"


def parse_parent(parent: str) -> tuple[str, str]:
    """``(project, location)`` of ``projects/P/locations/L``.

    Raises:
        RpcAbort: INVALID_ARGUMENT if ``parent`` has another shape.
    """
    match = _PARENT.match(parent)
    if match is None:
        raise _invalid(f"parent must be projects/PROJECT/locations/LOCATION, got {parent!r}")
    return match.group(1), match.group(2)


def parse_job_name(name: str) -> JobName:
    """Split a CustomJob resource name.

    Raises:
        RpcAbort: INVALID_ARGUMENT if ``name`` is not ``projects/P/locations/L/customJobs/ID``.
    """
    match = _JOB_NAME.match(name)
    if match is None:
        raise _invalid(
            f"name must be projects/PROJECT/locations/LOCATION/customJobs/NUMERIC_ID, got {name!r}"
        )
    return JobName(*match.groups())


def _validate_labels(labels: dict[str, str]) -> None:
    if len(labels) > MAX_LABELS:
        raise _invalid(f"custom_job.labels: at most {MAX_LABELS} labels, got {len(labels)}")
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            raise _invalid(
                f"custom_job.labels: key {key!r} must be 1-63 lowercase letters, digits, "
                "'_' or '-', starting with a letter"
            )
        if not _LABEL_VALUE.match(value):
            raise _invalid(
                f"custom_job.labels[{key!r}]: value {value!r} must be 0-63 lowercase letters, "
                "digits, '_' or '-'"
            )


def validate_custom_job(job: Any) -> None:
    """Check a ``CustomJob`` of a CreateCustomJobRequest the way Vertex AI does.

    Raises:
        RpcAbort: INVALID_ARGUMENT for a request Vertex would refuse; UNIMPLEMENTED for
            Python package specs or more than one replica, which the fake does not run.
    """
    if not job.display_name:
        raise _invalid("custom_job.display_name is required")
    if len(job.display_name) > MAX_DISPLAY_NAME:
        raise _invalid(f"custom_job.display_name is longer than {MAX_DISPLAY_NAME} characters")
    if job.name or job.state:
        raise _invalid("custom_job.name and custom_job.state are output only: leave them unset")
    _validate_labels(dict(job.labels))
    pools = job.job_spec.worker_pool_specs
    if not pools:
        raise _invalid("custom_job.job_spec.worker_pool_specs needs at least one worker pool")
    for index, pool in enumerate(pools):
        where = f"custom_job.job_spec.worker_pool_specs[{index}]"
        if index > 0 and pool.replica_count == 0:
            continue  # an empty placeholder pool, as Vertex allows after the first
        if "python_package_spec" in pool:
            raise RpcAbort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{where}.python_package_spec: the fake runs container_spec only",
            )
        if not pool.container_spec.image_uri:
            raise _invalid(f"{where}.container_spec.image_uri is required")
        if not pool.machine_spec.machine_type:
            raise _invalid(f"{where}.machine_spec.machine_type is required")
        if index == 0 and pool.replica_count > 1:
            raise _invalid(f"{where}.replica_count must be 1 for the first worker pool")
        if index > 0:
            raise RpcAbort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{where}: the fake runs a single replica of the first worker pool",
            )
