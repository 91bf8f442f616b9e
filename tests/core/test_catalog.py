"""Machine catalogs: the record, picking the smallest machine, and the price-file override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowyml.backend import ConfigError, MachineCatalog, load_machine_catalog
from flowyml.project.prices import PRICES_DIR_ENV

GIB = 1024**3


def _catalog_data(price: float = 1.0, source: str = "https://example.test/prices") -> dict:
    return {
        "backend": "demo",
        "source": source,
        "as_of": "2026-11-30",
        "region": "nowhere-1",
        "currency": "EUR",
        "accelerator_prices": {"T4": 0.5},
        "machines": [
            {"name": "big", "vcpus": 8, "memory_gib": 32, "hourly_price": 4 * price},
            {"name": "small", "vcpus": 2, "memory_gib": 8, "hourly_price": price},
            {"name": "small-twin", "vcpus": 2, "memory_gib": 8, "hourly_price": price / 2},
            {"name": "gpu", "vcpus": 4, "memory_gib": 16, "gpus": 1, "gpu_type": "A100"},
        ],
    }


def test_a_catalog_file_reads_memory_in_gib_and_gives_machines_its_currency() -> None:
    catalog = MachineCatalog.from_json(json.dumps(_catalog_data()), origin="demo.json")
    small = catalog.get("small")
    assert small is not None
    assert small.memory_bytes == 8 * GIB
    assert small.currency == "EUR"
    assert catalog.origin == "demo.json"
    assert catalog.source == "https://example.test/prices"
    assert catalog.as_of == "2026-11-30"


def test_smallest_fitting_prefers_fewest_gpus_then_cpus_then_memory_then_file_order() -> None:
    catalog = MachineCatalog.model_validate(_catalog_data())
    assert catalog.smallest_fitting(cpu=1, memory_bytes=GIB).name == "small"  # type: ignore[union-attr]
    assert catalog.smallest_fitting(cpu=3).name == "big"  # type: ignore[union-attr]
    assert catalog.smallest_fitting(gpus=1).name == "gpu"  # type: ignore[union-attr]
    assert catalog.smallest_fitting(gpus=1, gpu_type="a100").name == "gpu"  # type: ignore[union-attr]
    assert catalog.smallest_fitting(gpus=1, gpu_type="T4") is None
    assert catalog.smallest_fitting(cpu=100) is None


def test_hourly_cost_adds_attached_gpus_from_the_accelerator_prices() -> None:
    catalog = MachineCatalog.model_validate(_catalog_data())
    assert catalog.hourly_cost("small") == 1.0
    assert catalog.hourly_cost("small", gpus=2, gpu_type="t4") == 2.0
    assert catalog.hourly_cost("small", gpus=1, gpu_type="V100") is None  # no price for it
    assert catalog.hourly_cost("gpu", gpus=1) is None  # its own price is unknown
    assert catalog.hourly_cost("missing") is None


def test_a_malformed_catalog_names_its_file_and_field() -> None:
    bad = _catalog_data()
    bad["machines"][0]["vcpus"] = "many"
    with pytest.raises(ConfigError, match=r"prices\.json: machines\.0\.vcpus"):
        MachineCatalog.from_json(json.dumps(bad), origin="prices.json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        MachineCatalog.from_json("{", origin="prices.json")


def test_the_projects_price_file_overrides_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PRICES_DIR_ENV, raising=False)
    shipped = tmp_path / "shipped.json"
    shipped.write_text(json.dumps(_catalog_data(price=1.0, source="shipped")))
    project = tmp_path / "project"
    (project / ".flowyml").mkdir(parents=True)
    (project / "flowyml.yaml").write_text("")
    assert load_machine_catalog("demo", shipped, project).source == "shipped"  # type: ignore[union-attr]
    assert load_machine_catalog("demo", None, project) is None

    (project / ".flowyml" / "prices").mkdir()
    override = project / ".flowyml" / "prices" / "demo.json"
    override.write_text(json.dumps(_catalog_data(price=3.0, source="mine")))
    catalog = load_machine_catalog("demo", shipped, project)
    assert catalog is not None
    assert catalog.source == "mine"
    assert catalog.hourly_price("small") == 3.0
    assert catalog.origin == str(override)


def test_the_prices_dir_variable_wins_over_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".flowyml" / "prices").mkdir(parents=True)
    (project / "flowyml.yaml").write_text("")
    (project / ".flowyml" / "prices" / "demo.json").write_text(
        json.dumps(_catalog_data(source="project"))
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "demo.json").write_text(json.dumps(_catalog_data(source="env")))
    monkeypatch.setenv(PRICES_DIR_ENV, str(elsewhere))
    assert load_machine_catalog("demo", None, project).source == "env"  # type: ignore[union-attr]
