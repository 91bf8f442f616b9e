"""``flowyml rightsize`` on recorded runs: tables, JSON, machines and prices, --write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from rightsize_runs import RecordedRuns, usage

from flowyml import Executor, ExecutorConfig, ResourceConfig, hookimpl
from flowyml.cli.commands import cli
from flowyml.definition.references import load_module_from_path
from flowyml.execution.launch import configured_pipeline
from flowyml.plugins.manager import get_plugin_manager
from flowyml.project.config import load_config
from flowyml.project.folder import forget_projects
from flowyml.project.prices import load_machine_catalog

_CATALOG = {
    "backend": "priced_fake",
    "source": "https://example.com/prices",
    "as_of": "2026-11-30",
    "region": "test-1",
    "currency": "USD",
    "machines": [
        {"name": "std-1", "vcpus": 1, "memory_gib": 2, "hourly_price": 0.05},
        {"name": "std-2", "vcpus": 2, "memory_gib": 4, "hourly_price": 0.10},
        {"name": "std-4", "vcpus": 4, "memory_gib": 8, "hourly_price": 0.20},
        {"name": "std-8", "vcpus": 8, "memory_gib": 32, "hourly_price": 0.40},
    ],
}

_PIPELINE = """\
from flowyml import Pipeline, step

@step(outputs=["data"], resources={"cpu": 4, "memory": "8Gi"})
def load():
    return 1

@step(inputs=["data"], outputs=["model"], resources={"cpu": 4, "memory": "8Gi"})
def train(data):
    return data

@step(inputs=["model"], outputs=["report"])
def report(model):
    return model

training = Pipeline("training", steps=[load, train, report])
"""


class _PricedConfig(ExecutorConfig):
    machine_type: str = "std-4"


class _Priced(Executor):
    """A backend with a machine catalog read as the cloud backends read theirs."""

    name = "priced_fake"
    config_model: ClassVar[type[ExecutorConfig]] = _PricedConfig

    @classmethod
    def machine_catalog(cls, project: Any = None) -> Any:
        return load_machine_catalog("priced_fake", None, project)

    def execute_step(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not run")


class _Plugin:
    @hookimpl
    def flowyml_register_backends(self) -> list[type[Any]]:
        return [_Priced]


@pytest.fixture
def recorded(project):
    prices = project / ".flowyml" / "prices"
    prices.mkdir(parents=True)
    (prices / "priced_fake.json").write_text(json.dumps(_CATALOG))
    (project / "pipe.py").write_text(_PIPELINE)
    get_plugin_manager().register(_Plugin(), "priced", "tests")
    runs = RecordedRuns(project)
    for n, at in enumerate((1000, 2000, 3000)):
        runs.add(
            f"r{n + 1}",
            at,
            {
                "load": usage(100 - 10 * n, 0.2),
                "train": usage(1000 + 100 * n, 1.5 + 0.1 * n, wall=300 + 100 * n),
                "report": None,
            },
        )
    return project


def _configure(root: Path, text: str) -> None:
    """A new flowyml.yaml, read afresh (a command runs in a new process)."""
    (root / "flowyml.yaml").write_text(text)
    forget_projects()


def _rightsize(*args: str) -> Any:
    return CliRunner().invoke(cli, ["rightsize", *args], catch_exceptions=False)


def _fake_machines(step: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in step["machines"] if m["backend"] == "priced_fake")


def test_json_reports_figures_suggestions_machines_and_savings(recorded):
    result = _rightsize("training", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    steps = {s["step"]: s for s in data["steps"]}
    assert data["runs"] == ["r3", "r2", "r1"] and data["headroom"] == 1.25
    assert steps["train"]["suggested"] == {"cpu": 2.0, "memory": "1536Mi"}
    assert steps["train"]["peak_memory_max"] == 1200 * 1024**2
    assert steps["report"]["suggested"] is None and steps["report"]["measurements"] == 0
    catalog = next(c for c in data["catalogs"] if c["backend"] == "priced_fake")
    assert catalog["as_of"] == "2026-11-30" and catalog["file"].endswith("priced_fake.json")
    train = _fake_machines(steps["train"])
    # now: the backend's default machine (nothing asked for); then: 2 vCPU, 1.5 GiB
    assert (train["current"]["name"], train["suggested"]["name"]) == ("std-4", "std-2")
    assert train["hourly_saving"] == pytest.approx(0.10)
    assert train["saving_per_run"] == pytest.approx(0.10 * 400 / 3600)  # the median wall
    load = _fake_machines(steps["load"])
    assert load["suggested"]["name"] == "std-1" and load["saving_per_run"] == pytest.approx(
        0.15 * 100 / 3600
    )
    total = data["savings"]["priced_fake"]  # report, not measured, counts for nothing
    assert total["saving_per_run"] == pytest.approx(
        train["saving_per_run"] + load["saving_per_run"]
    )
    assert total["hourly_saving"] == pytest.approx(0.25)
    assert data["written"] is None


def test_the_pipeline_file_gives_the_steps_own_resources(recorded):
    data = json.loads(_rightsize("pipe.py", "--json").output)
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["train"]["current"] == {"cpu": 4.0, "memory": "8Gi"}
    assert _fake_machines(steps["train"])["current"]["name"] == "std-4"  # fits 4 CPU, 8 GiB
    assert _fake_machines(steps["train"])["current_reason"] == "fits its resources"
    assert [s["step"] for s in data["steps"]] == ["load", "train", "report"]


def test_the_stack_settings_name_the_default_machine(recorded):
    _configure(
        recorded, "stacks:\n  cloud: {backend: priced_fake, settings: {machine_type: std-8}}\n"
    )
    data = json.loads(_rightsize("training", "--json", "--backend", "cloud").output)
    train = _fake_machines(next(s for s in data["steps"] if s["step"] == "train"))
    assert train["current"]["name"] == "std-8" and train["hourly_saving"] == pytest.approx(0.30)


def test_the_table_shows_figures_suggestions_and_the_catalog_it_priced_with(recorded):
    result = _rightsize("training")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "pipeline training: 3 successful run(s) (r3, r2, r1)" in out
    train = next(line for line in out.splitlines() if line.startswith("train "))
    assert "1.1Gi / 1.2Gi" in train and "cpu 2, 1536Mi" in train
    assert "no measurements" in next(line for line in out.splitlines() if line.startswith("report"))
    assert "priced_fake: prices of 2026-11-30, test-1 (https://example.com/prices)" in out
    assert "to use these: flowyml rightsize training --write" in out


def test_write_round_trip_the_next_run_asks_for_the_suggestions(recorded):
    _configure(recorded, "# keep me\nstack: local\n")
    result = _rightsize("pipe.py", "--write")
    assert result.exit_code == 0, result.output
    assert "wrote the resources of load, train to" in result.output
    assert (recorded / "flowyml.yaml").read_text().startswith("# keep me\nstack: local\n")
    config = load_config(recorded)
    assert config.step_resources("training") == {
        "load": ResourceConfig(cpu=0.25, memory="128Mi"),
        "train": ResourceConfig(cpu=2, memory="1536Mi"),
    }
    pipeline = load_module_from_path(str(recorded / "pipe.py")).training
    configured = configured_pipeline(pipeline, config)
    assert configured.step_by_name("train").resources == ResourceConfig(cpu=2, memory="1536Mi")
    assert configured.step_by_name("report").resources == ResourceConfig()
    forget_projects()  # as the next command, in a new process, reads it
    again = json.loads(_rightsize("pipe.py", "--json").output)
    assert {s["step"]: s["current"] for s in again["steps"]}["train"] == {
        "cpu": 2.0,
        "memory": "1536Mi",
    }


def test_an_unknown_pipeline_names_the_recorded_pipelines(recorded):
    result = CliRunner().invoke(cli, ["rightsize", "trainig"])
    assert result.exit_code == 2
    assert "no run of pipeline 'trainig'" in result.output
    assert "recorded pipelines: training" in result.output


def test_fewer_than_one_run_is_refused(recorded):
    result = CliRunner().invoke(cli, ["rightsize", "training", "--runs", "0"])
    assert result.exit_code == 2 and "--runs must be at least 1, got 0" in result.output


def test_a_broken_price_file_is_named(recorded):
    (recorded / ".flowyml" / "prices" / "priced_fake.json").write_text("{not json")
    result = CliRunner().invoke(cli, ["rightsize", "training"])
    assert result.exit_code == 2 and "priced_fake.json: not valid JSON" in result.output


def test_an_unknown_stack_names_the_defined_stacks(recorded):
    result = CliRunner().invoke(cli, ["rightsize", "training", "--backend", "clod"])
    assert result.exit_code == 2 and "unknown stack or backend 'clod'" in result.output


def test_by_name_the_steps_own_resources_come_from_the_pipeline_the_newest_run_names(recorded):
    runs = RecordedRuns(recorded)
    reference = f"{recorded / 'pipe.py'}:training"
    runs.add("r4", 4000, {"train": usage(900, 1.0)}, pipeline_ref=reference)
    data = json.loads(_rightsize("training", "--json").output)
    assert {s["step"]: s["current"] for s in data["steps"]}["train"] == {"cpu": 4, "memory": "8Gi"}
    assert data["notes"] == []


def test_a_pipeline_that_cannot_be_imported_is_a_note_not_a_failure(recorded):
    RecordedRuns(recorded).add("r4", 4000, {"train": usage(900, 1.0)}, pipeline_ref="gone:x")
    result = _rightsize("training", "--json")
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert any(n.startswith("could not import gone:x") for n in notes), notes


def test_a_step_of_an_execution_group_is_told_the_group_shares_a_machine(recorded):
    (recorded / "grouped.py").write_text(
        _PIPELINE.replace('outputs=["model"],', 'outputs=["model"], execution_group="fit",')
    )
    data = json.loads(_rightsize("grouped.py", "--json").output)
    train = next(s for s in data["steps"] if s["step"] == "train")
    assert any("execution group 'fit'" in note for note in train["notes"])
