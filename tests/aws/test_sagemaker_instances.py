"""The SageMaker instance catalog this distribution ships (also the instance table)."""

from __future__ import annotations

from pathlib import Path


def test_the_shipped_catalog_names_its_source_date_and_region_and_prices_every_instance(
    project: Path,
) -> None:
    from flowyml_aws import SageMakerOrchestrator
    from flowyml_aws.instance_types import instance_types

    catalog = SageMakerOrchestrator.machine_catalog(
        project
    )  # a fresh project: no price file of its own
    assert catalog is not None
    assert "aws.amazon.com/sagemaker/pricing" in catalog.source
    assert catalog.as_of >= "2025-01-01" and catalog.region == "us-east-1"
    assert [m.name for m in catalog.machines] == [t.name for t in instance_types()]
    assert all(m.hourly_price for m in catalog.machines)
    smallest_gpu = catalog.smallest_fitting(cpu=2, gpus=1, gpu_type="T4")
    assert smallest_gpu is not None and smallest_gpu.name == "ml.g4dn.xlarge"
