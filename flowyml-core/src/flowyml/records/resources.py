"""Resource and container settings attached to steps, groups and backends."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["DockerConfig", "ResourceConfig", "parse_memory"]

_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory(value: str | int | float) -> int:
    """Convert a memory quantity such as ``"512Mi"``, ``"4GB"`` or ``1024`` to bytes.

    Raises:
        ValueError: the quantity or its unit is not understood.
    """
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"memory must not be negative, got {value!r}")
        return int(value)
    match = _MEMORY_RE.match(value)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _MEMORY_UNITS:
        raise ValueError(
            f"memory {value!r} is not a quantity like '512Mi', '4Gi', '2GB' or a byte count"
        )
    return int(float(match.group(1)) * _MEMORY_UNITS[unit])


class ResourceConfig(BaseModel):
    """Compute resources a step or a group asks for.

    Attributes:
        cpu: CPU cores (fractions allowed).
        memory: memory limit, e.g. ``"4Gi"``; ``None`` means the backend default.
        gpu: number of GPUs.
        gpu_type: accelerator type, e.g. ``"NVIDIA_TESLA_T4"``.
        machine_type: a cloud machine type, e.g. ``"n1-standard-4"``.
        disk_gb: boot or scratch disk size in GB.
        shm_size: shared memory size, e.g. ``"1Gi"`` (containers only).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: float | None = Field(default=None, gt=0)
    memory: str | None = None
    gpu: int = Field(default=0, ge=0)
    gpu_type: str | None = None
    machine_type: str | None = None
    disk_gb: int | None = Field(default=None, gt=0)
    shm_size: str | None = None

    @field_validator("memory", "shm_size", mode="before")
    @classmethod
    def _check_memory(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int | float):
            value = str(int(value))
        parse_memory(value)
        return value

    @property
    def memory_bytes(self) -> int | None:
        """The memory limit in bytes, or ``None``."""
        return None if self.memory is None else parse_memory(self.memory)

    def with_defaults(self, default: ResourceConfig | None) -> ResourceConfig:
        """These resources, with every field left unset (``None``, or no GPU) taken from
        ``default`` — e.g. a stack's resources for a step that asks for nothing."""
        if default is None:
            return self
        data = self.model_dump()
        for name, value in default.model_dump().items():
            if data[name] is None or (name == "gpu" and not data[name]):
                data[name] = value
        return ResourceConfig(**data)

    def merge_max(self, other: ResourceConfig) -> ResourceConfig:
        """The element-wise maximum of two configurations (used for step groups).

        Raises:
            ValueError: the two ask for different machine or GPU types.
        """
        data: dict[str, Any] = {}
        for name in ("cpu", "disk_gb", "gpu"):
            mine, theirs = getattr(self, name), getattr(other, name)
            data[name] = theirs if mine is None else mine if theirs is None else max(mine, theirs)
        for name in ("memory", "shm_size"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is None or theirs is None:
                data[name] = mine or theirs
            else:
                data[name] = mine if parse_memory(mine) >= parse_memory(theirs) else theirs
        for name in ("gpu_type", "machine_type"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine and theirs and mine != theirs:
                raise ValueError(f"conflicting {name}: {mine!r} and {theirs!r}")
            data[name] = mine or theirs
        return ResourceConfig(**data)


class DockerConfig(BaseModel):
    """How to build or pick the container image that runs steps.

    Attributes:
        image: a prebuilt image to use as is; when set nothing is built.
        base_image: the image to build on (must contain Python 3.11+ and pip).
        requirements: extra pip requirements installed into the image.
        env: environment variables set in the container.
        secret_env: environment variables that are secret: passed to the container
            but never written to logs, run records, details or ``to_dict()``.
        build_args: Docker build arguments.
        platform: target platform, e.g. ``"linux/amd64"``.
        registry: where to push the image, e.g. ``"localhost:5000/team"``.
        dockerfile: a Dockerfile of the user's to build from instead of the generated one.
        workdir: the working directory in the image where the project is copied.
    """

    # Built on first use: every step process imports this module (steps carry a
    # ResourceConfig), and only a submitting process validates a DockerConfig.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    image: str | None = None
    base_image: str = "python:3.11-slim"
    requirements: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    secret_env: dict[str, SecretStr] = Field(default_factory=dict)
    build_args: dict[str, str] = Field(default_factory=dict)
    platform: str | None = None
    registry: str | None = None
    dockerfile: str | None = None
    workdir: str = "/app"
