"""Which SageMaker instance type runs a step group: the smallest that fits its resources.

The table is data (``data/sagemaker_instances.json``, the shipped machine catalog, with
the date it was copied and from where), so updating it is a data change: vCPUs, memory,
GPUs and training prices of the general-purpose, compute, memory and GPU instances. A
group's ``machine_type`` wins; a group that asks for nothing gets the backend's
``instance_type``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files

from flowyml.backend import ConfigError, ResourceConfig

__all__ = ["SHIPPED_CATALOG", "InstanceType", "instance_type_for", "instance_types", "table_date"]

_GIB = 1024**3
# ResourceConfig.gpu_type as users write it -> the table's GPU model.
_GPU_ALIASES = {
    "NVIDIA_TESLA_T4": "T4",
    "NVIDIA_A10G": "A10G",
    "NVIDIA_TESLA_V100": "V100",
    "NVIDIA_TESLA_A100": "A100",
    "NVIDIA_A100": "A100",
}


@dataclass(frozen=True)
class InstanceType:
    """One row of the table."""

    name: str
    vcpu: int
    memory_gib: float
    gpus: int
    gpu_model: str | None


#: The catalog file this distribution ships.
SHIPPED_CATALOG = package_files.files("flowyml_aws").joinpath("data/sagemaker_instances.json")


@cache
def _table() -> dict[str, object]:
    data: dict[str, object] = json.loads(SHIPPED_CATALOG.read_text(encoding="utf-8"))
    return data


def table_date() -> str:
    """The day the table was copied (``YYYY-MM-DD``)."""
    return str(_table()["as_of"])


def instance_types() -> list[InstanceType]:
    """The table, in its tie-breaking order."""
    rows = _table()["machines"]
    assert isinstance(rows, list)
    return [
        InstanceType(r["name"], r["vcpus"], float(r["memory_gib"]), r["gpus"], r["gpu_type"])
        for r in rows
    ]


def instance_type_for(resources: ResourceConfig, default: str) -> str:
    """The instance of a group: the ``machine_type`` it names, else the smallest one that
    has its CPUs, memory and GPUs (of its ``gpu_type``), else ``default``.

    Raises:
        ConfigError: no instance in the table offers that much.
    """
    if resources.machine_type:
        name = resources.machine_type
        return name if name.startswith("ml.") else f"ml.{name}"
    if resources.cpu is None and resources.memory is None and not resources.gpu:
        return default
    cpu = resources.cpu or 0.0
    memory = (resources.memory_bytes or 0) / _GIB
    model = None
    if resources.gpu and resources.gpu_type:
        wanted = resources.gpu_type.upper()
        model = _GPU_ALIASES.get(wanted, wanted)
    table = instance_types()
    fitting = [
        (index, t)
        for index, t in enumerate(table)
        if t.vcpu >= cpu
        and t.memory_gib >= memory
        and t.gpus >= resources.gpu
        and (model is None or t.gpu_model == model)
    ]
    if not fitting:
        models = sorted({t.gpu_model for t in table if t.gpu_model})
        raise ConfigError(
            f"no SageMaker instance in the table of {table_date()} has {cpu:g} vCPUs, "
            f"{memory:.1f} GiB and {resources.gpu} GPU(s)"
            + (f" of type {model} (known: {', '.join(models)})" if model else "")
            + "; name a machine_type (e.g. 'ml.p4d.24xlarge') in the step's resources"
        )
    _, best = min(fitting, key=lambda it: (it[1].gpus, it[1].vcpu, it[1].memory_gib, it[0]))
    return best.name
