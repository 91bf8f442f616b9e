"""The Vertex AI machine catalog this distribution ships."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.gcp


def test_the_shipped_catalog_names_its_source_date_and_region_and_prices_the_machines(
    project: Path,
) -> None:
    from flowyml_gcp import VertexAIOrchestrator
    from flowyml_gcp.job_spec import _MACHINES

    catalog = VertexAIOrchestrator.machine_catalog(
        project
    )  # a fresh project: no price file of its own
    assert catalog is not None
    assert catalog.source.startswith("https://cloud.google.com/vertex-ai/pricing")
    assert catalog.as_of >= "2025-01-01" and catalog.region == "us-central1"
    for name in ("n1-standard-4", "n1-highmem-2", "n1-highcpu-16", "e2-standard-4"):
        assert (catalog.hourly_price(name) or 0) > 0, name
    a2 = catalog.get("a2-highgpu-1g")
    assert a2 is not None and a2.gpus == 1 and a2.gpu_type == "NVIDIA_TESLA_A100"
    # Every machine the backend picks from resources has a shape and a price.
    for name, vcpus, memory_gib in _MACHINES:
        machine = catalog.get(name)
        assert machine is not None and machine.vcpus == vcpus, name
        assert machine.memory_gib == pytest.approx(memory_gib) and machine.hourly_price, name
