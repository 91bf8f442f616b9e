"""The CustomJob built for a step group: machine, accelerators, disk, container, labels."""

from __future__ import annotations

import pytest

from flowyml.errors import ConfigError
from flowyml.records.resources import ResourceConfig
from flowyml_gcp.config import VertexAIConfig
from flowyml_gcp.executor import exit_code_of
from flowyml_gcp.job_spec import custom_job, label_value, machine_type_for

CONFIG = VertexAIConfig(
    project_id="my-project-123",
    staging_bucket="gs://bucket",
    service_account="runner@my-project-123.iam.gserviceaccount.com",
    network="projects/123/global/networks/vpc",
    encryption_key="projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k",
    labels={"team": "ML"},
)


def build(resources=None, **overrides):
    args = {
        "config": CONFIG,
        "display_name": "flowyml-run-group",
        "image_uri": "europe-west1-docker.pkg.dev/p/r/img:abc",
        "args": ["step-runner", "--run-id", "R", "--steps", "a,b"],
        "resources": resources or ResourceConfig(),
        "run_id": "Run_2024.01",
        "group": "Train",
        "env": {"B": "2", "A": "1"},
        "base_output_uri": "gs://bucket/runs/R/jobs/Train",
    }
    return custom_job(**{**args, **overrides})


def test_job_runs_the_step_runner_in_the_image():
    job = build()
    pool = job.job_spec.worker_pool_specs[0]
    assert pool.container_spec.image_uri == "europe-west1-docker.pkg.dev/p/r/img:abc"
    assert list(pool.container_spec.command) == ["flowyml"]
    assert list(pool.container_spec.args)[:1] == ["step-runner"]
    assert [(e.name, e.value) for e in pool.container_spec.env] == [("A", "1"), ("B", "2")]


def test_service_account_network_key_and_bucket_are_passed_through():
    job = build()
    assert job.job_spec.service_account == CONFIG.service_account
    assert job.job_spec.network == CONFIG.network
    assert job.encryption_spec.kms_key_name == CONFIG.encryption_key
    assert job.job_spec.base_output_directory.output_uri_prefix == "gs://bucket/runs/R/jobs/Train"


def test_labels_carry_run_id_and_group_as_valid_label_values():
    labels = dict(build().labels)
    assert labels["flowyml-run-id"] == "run_2024-01"
    assert labels["flowyml-group"] == "train"
    assert labels["team"] == "ml"
    assert label_value("x" * 80) == "x" * 63


def test_default_machine_when_resources_name_none():
    pool = build().job_spec.worker_pool_specs[0]
    assert pool.machine_spec.machine_type == "n1-standard-4"
    assert pool.replica_count == 1
    assert pool.disk_spec.boot_disk_size_gb == 100 and pool.disk_spec.boot_disk_type == "pd-ssd"


def test_named_machine_type_disk_and_gpus_come_from_resources():
    resources = ResourceConfig(
        machine_type="a2-highgpu-1g", gpu=1, gpu_type="nvidia_tesla_a100", disk_gb=250
    )
    pool = build(resources).job_spec.worker_pool_specs[0]
    assert pool.machine_spec.machine_type == "a2-highgpu-1g"
    assert pool.machine_spec.accelerator_type.name == "NVIDIA_TESLA_A100"
    assert pool.machine_spec.accelerator_count == 1
    assert pool.disk_spec.boot_disk_size_gb == 250


def test_gpus_without_a_type_get_the_default_accelerator():
    pool = build(ResourceConfig(gpu=2)).job_spec.worker_pool_specs[0]
    assert pool.machine_spec.accelerator_type.name == "NVIDIA_TESLA_T4"
    assert pool.machine_spec.accelerator_count == 2


def test_unknown_accelerator_is_a_config_error_naming_the_group():
    with pytest.raises(ConfigError, match="group 'Train': gpu_type 'QUANTUM_X'"):
        build(ResourceConfig(gpu=1, gpu_type="quantum_x"))


@pytest.mark.parametrize(
    ("cpu", "memory", "machine"),
    [
        (2, None, "n1-highmem-2"),
        (4, "15Gi", "n1-standard-4"),
        (4, "20Gi", "n1-highmem-4"),
        (6, None, "n1-standard-8"),
        (1, "50Gi", "n1-highmem-8"),
        (None, "100Gi", "n1-highmem-16"),
    ],
)
def test_machine_is_the_smallest_that_fits_cpu_and_memory(cpu, memory, machine):
    assert machine_type_for(ResourceConfig(cpu=cpu, memory=memory), "e2-standard-4") == machine


def test_no_machine_fits_is_a_config_error():
    with pytest.raises(ConfigError, match="no Vertex AI machine"):
        machine_type_for(ResourceConfig(cpu=500), "n1-standard-4")


def test_group_timeout_becomes_the_job_scheduling_timeout():
    job = build(timeout=30.0)
    assert job.job_spec.scheduling.timeout.total_seconds() >= 30


def test_group_resources_override_the_stack_defaults_field_by_field():
    merged = ResourceConfig(gpu=1).with_defaults(ResourceConfig(cpu=2, disk_gb=50))
    assert (merged.cpu, merged.disk_gb, merged.gpu) == (2, 50, 1)


def test_exit_code_is_read_from_the_job_error():
    from google.cloud.aiplatform_v1 import types

    job = types.CustomJob(state=types.JobState.JOB_STATE_FAILED)
    job.error.message = "The replica workerpool0-0 exited with a non-zero status of 3."
    assert exit_code_of(job) == 3
    assert exit_code_of(types.CustomJob(state=types.JobState.JOB_STATE_SUCCEEDED)) == 0
