"""The CustomJob that runs one step group: machine, accelerators, disk, container, labels.

:func:`custom_job` is pure: it turns a group's ``ResourceConfig`` and the backend's
settings into an ``aiplatform_v1.CustomJob`` message, which makes it easy to test.
"""

from __future__ import annotations

import re
from typing import Any

from flowyml.backend import ConfigError, ResourceConfig
from flowyml_gcp.config import VertexAIConfig

__all__ = ["LABEL_GROUP", "LABEL_RUN_ID", "custom_job", "label_value", "machine_type_for"]

LABEL_RUN_ID = "flowyml-run-id"
LABEL_GROUP = "flowyml-group"
LABEL_MANAGED = "flowyml-managed"

_GIB = 1024**3
# (vCPUs, memory GiB) of the general-purpose N1 machines custom training accepts, smallest
# first; GPUs attach to N1 machines, so these serve every group.
_MACHINES: list[tuple[str, int, float]] = [
    *((f"n1-standard-{n}", n, n * 3.75) for n in (4, 8, 16, 32, 64, 96)),
    *((f"n1-highmem-{n}", n, n * 6.5) for n in (2, 4, 8, 16, 32, 64, 96)),
]


def label_value(value: str) -> str:
    """``value`` as a valid label value: lowercase letters, digits, ``-`` and ``_``, 63
    characters at most."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def machine_type_for(resources: ResourceConfig, default: str) -> str:
    """The machine of a group: the one it names, else the smallest that fits its CPU and
    memory, else ``default``.

    Raises:
        ConfigError: no machine offers that much CPU and memory.
    """
    if resources.machine_type:
        return resources.machine_type
    if resources.cpu is None and resources.memory is None:
        return default
    cpu = resources.cpu or 0.0
    memory = (resources.memory_bytes or 0) / _GIB
    fitting = [m for m in _MACHINES if m[1] >= cpu and m[2] >= memory]
    if not fitting:
        raise ConfigError(
            f"no Vertex AI machine has {cpu:g} vCPUs and {memory:.1f} GiB; name a "
            "machine_type in the step's resources"
        )
    return min(fitting, key=lambda m: (m[1], m[2]))[0]  # fewest vCPUs, then least memory


def custom_job(
    *,
    config: VertexAIConfig,
    display_name: str,
    image_uri: str,
    args: list[str],
    resources: ResourceConfig,
    run_id: str,
    group: str,
    env: dict[str, str],
    base_output_uri: str | None = None,
    timeout: float | None = None,
) -> Any:
    """The ``CustomJob`` running ``flowyml ARGS`` in ``image_uri`` for one group.

    Args:
        config: the backend settings (machine default, service account, network, key...).
        display_name: the job's display name.
        image_uri: the pushed image.
        args: arguments after ``flowyml``.
        resources: the group's resources (machine, accelerators, disk).
        run_id: the run, for labels.
        group: the group, for labels.
        env: the container's environment.
        base_output_uri: ``gs://`` folder for the job's own outputs.
        timeout: the group's timeout in seconds; Vertex stops the job after it.

    Raises:
        ConfigError: the accelerator type is unknown or no machine fits.
    """
    from google.cloud.aiplatform_v1 import types
    from google.protobuf import duration_pb2

    machine = types.MachineSpec(machine_type=machine_type_for(resources, config.machine_type))
    if resources.gpu:
        name = (resources.gpu_type or config.default_accelerator).upper()
        try:
            machine.accelerator_type = types.AcceleratorType[name]  # type: ignore[misc]
        except KeyError:
            accelerators: Any = types.AcceleratorType
            known = ", ".join(a.name for a in accelerators if a.value)
            raise ConfigError(
                f"group '{group}': gpu_type {name!r} is not a Vertex AI accelerator ({known})"
            ) from None
        machine.accelerator_count = resources.gpu
    pool = types.WorkerPoolSpec(
        machine_spec=machine,
        replica_count=config.replica_count,
        disk_spec=types.DiskSpec(
            boot_disk_type=config.boot_disk_type,
            boot_disk_size_gb=resources.disk_gb or config.boot_disk_size_gb,
        ),
        container_spec=types.ContainerSpec(
            image_uri=image_uri,
            command=["flowyml"],
            args=list(args),
            env=[types.EnvVar(name=k, value=v) for k, v in sorted(env.items())],
        ),
    )
    spec = types.CustomJobSpec(worker_pool_specs=[pool])
    if config.service_account:
        spec.service_account = config.service_account
    if config.network:
        spec.network = config.network
    if base_output_uri:
        spec.base_output_directory = types.GcsDestination(output_uri_prefix=base_output_uri)
    if timeout:
        spec.scheduling = types.Scheduling(timeout=duration_pb2.Duration(seconds=int(timeout) + 1))
    labels = {label_value(k): label_value(v) for k, v in config.labels.items()}
    labels.update(
        {LABEL_RUN_ID: label_value(run_id), LABEL_GROUP: label_value(group), LABEL_MANAGED: "1"}
    )
    job = types.CustomJob(display_name=display_name[:128], job_spec=spec, labels=labels)
    if config.encryption_key:
        job.encryption_spec = types.EncryptionSpec(kms_key_name=config.encryption_key)
    return job
