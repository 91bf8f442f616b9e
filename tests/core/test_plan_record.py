"""The RunPlan record: totals, why a cost is unknown, pricing from a machine catalog."""

from __future__ import annotations

import json

import pytest

from flowyml.backend import GroupPlan, MachineCatalog, ResourceConfig, RunPlan, StepPlan

CATALOG = MachineCatalog.model_validate(
    {
        "backend": "demo",
        "source": "https://example.test/prices",
        "as_of": "2026-11-30",
        "region": "r1",
        "accelerator_prices": {"NVIDIA_TESLA_T4": 0.5},
        "machines": [
            {"name": "small", "vcpus": 2, "memory_gib": 8, "hourly_price": 0.1},
            {"name": "big", "vcpus": 8, "memory_gib": 32, "hourly_price": 0.4},
        ],
    }
)


def _group(name: str, *steps: tuple[str, bool, float | None], **fields: object) -> GroupPlan:
    plans = [StepPlan(name=s, cached=c, reason="", estimated_seconds=t) for s, c, t in steps]
    running = [p.estimated_seconds for p in plans if not p.cached]
    seconds = None if None in running else float(sum(t for t in running if t is not None))
    return GroupPlan(
        name=name,
        steps=[p.name for p in plans],
        step_plans=plans,
        estimated_seconds=seconds,
        **fields,  # type: ignore[arg-type]
    )


def test_a_group_is_priced_at_its_machines_price_for_its_estimated_time() -> None:
    plan = RunPlan(
        pipeline="p",
        backend="demo",
        groups=[_group("a", ("a", False, 3600.0), machine_type="big")],
    ).priced(CATALOG)
    assert plan.estimated_cost == pytest.approx(0.4)
    assert plan.groups[0].priced_as == "big"
    assert plan.prices == {
        "source": "https://example.test/prices",
        "as_of": "2026-11-30",
        "region": "r1",
        "file": None,
    }


def test_attached_gpus_are_added_from_the_accelerator_prices() -> None:
    gpu = ResourceConfig(gpu=2, gpu_type="NVIDIA_TESLA_T4")
    plan = RunPlan(
        pipeline="p",
        backend="demo",
        groups=[_group("a", ("a", False, 1800.0), machine_type="small", resources=gpu)],
    ).priced(CATALOG)
    assert plan.estimated_cost == pytest.approx((0.1 + 2 * 0.5) / 2)


def test_without_machine_types_the_smallest_fitting_machine_sets_the_price() -> None:
    plan = RunPlan(
        pipeline="p",
        backend="demo",
        groups=[_group("a", ("a", False, 3600.0), resources=ResourceConfig(cpu=4))],
    ).priced(CATALOG, by_machine_type=False)
    assert plan.groups[0].priced_as == "big" and plan.estimated_cost == pytest.approx(0.4)


def test_an_unknown_part_makes_the_total_unknown_and_says_which() -> None:
    plan = RunPlan(
        pipeline="p",
        backend="demo",
        groups=[
            _group("known", ("a", False, 60.0), machine_type="small"),
            _group("never", ("b", False, None), ("c", True, 0.0), machine_type="small"),
            _group("odd", ("d", False, 60.0), machine_type="huge"),
            _group("cached", ("e", True, 0.0), machine_type="small"),
        ],
    ).priced(CATALOG)
    assert plan.estimated_cost is None and plan.estimated_seconds is None
    assert plan.jobs == 3
    assert plan.cost_unknown_because == [
        "group 'never': no recorded duration for 'b'",
        "group 'odd': no price for huge in the catalog",
    ]
    assert plan.groups[3].estimated_cost == 0.0  # every step cached: no job, no cost


def test_without_a_catalog_the_cost_is_unknown_naming_the_backend() -> None:
    plan = RunPlan(pipeline="p", backend="docker", groups=[_group("a", ("a", False, 1.0))]).priced(
        None
    )
    assert plan.estimated_cost is None
    assert plan.cost_unknown_because == [
        "group 'a': no price catalog for docker (write .flowyml/prices/docker.json)"
    ]


def test_to_dict_is_json_with_the_totals_and_each_groups_steps() -> None:
    plan = RunPlan(
        pipeline="p",
        backend="demo",
        groups=[_group("a", ("a", True, 0.0), ("b", False, 2.0), resources=ResourceConfig(cpu=1))],
        image="img:1",
        image_action="reuse",
    ).priced(CATALOG, by_machine_type=False)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["jobs"] == 1 and data["cached_steps"] == ["a"]
    assert data["groups"][0]["will_run"] == ["b"] and data["groups"][0]["resources"] == {"cpu": 1.0}
    assert data["image"] == "img:1" and data["image_action"] == "reuse"


def test_a_group_no_machine_fits_is_planned_with_the_error_its_job_would_get() -> None:
    from flowyml.backend import ConfigError

    def machine_for(resources: ResourceConfig) -> str:
        if (resources.cpu or 0) > 8:
            raise ConfigError("no machine has 64 vCPUs")
        return "small"

    plan = (
        RunPlan(
            pipeline="p",
            backend="demo",
            groups=[
                _group("ok", ("a", False, 60.0)),
                _group("huge", ("b", False, 60.0), resources=ResourceConfig(cpu=64)),
            ],
        )
        .with_backend_facts(machine_type=machine_for)
        .priced(CATALOG)
    )
    assert [g.machine_type for g in plan.groups] == ["small", None]
    assert plan.groups[1].details["machine_error"] == "no machine has 64 vCPUs"
    assert plan.cost_unknown_because == ["group 'huge': no machine has 64 vCPUs"]
