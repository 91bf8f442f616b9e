"""Planning a run (`flowyml run --plan`, `plan_run`): the cache keys of the scheduler,
computed before the run, agree with what the run then does."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cli_process import FlowymlCli

from flowyml.backend import plan_run

PIPELINE = textwrap.dedent("""
    from flowyml import Context, Pipeline, step

    @step(outputs=["data"])
    def load(n: int):
        return list(range(n))

    @step(inputs=["data"], outputs=["total"], execution_group="tail")
    def total(data):
        return sum(data)

    @step(inputs=["total"], outputs=["half"], execution_group="tail")
    def half(total):
        return total / 2

    @step(inputs=["total"], outputs=["stamp"], cache=False)
    def stamp(total):
        return f"total={total}"

    @step(inputs=["stamp"], outputs=["loud"])
    def loud(stamp):
        return stamp.upper()

    pipeline = Pipeline(
        "planned", steps=[load, total, half, stamp, loud], context=Context(n=5)
    )
""")


@pytest.fixture
def planned(project: Path) -> Any:
    from flowyml.definition.references import load_reference

    (project / "planned.py").write_text(PIPELINE)
    return load_reference(f"{project / 'planned.py'}:pipeline")


def _steps(plan: Any) -> dict[str, Any]:
    return {s.name: s for g in plan.groups for s in g.step_plans}


def _cached(run: Any) -> set[str]:
    return {name for name, r in run.step_results.items() if r.cached}


def test_a_first_plan_runs_everything_and_a_second_reuses_what_the_run_cached(
    planned: Any,
) -> None:
    before = plan_run(planned, "local")
    from flowyml.backend import group_steps

    scheduled = group_steps(planned.build_dag())
    assert [g.steps for g in before.groups] == [[s.name for s in g.steps] for g in scheduled]
    assert [g.steps for g in before.groups] == [["load"], ["total", "half"], ["stamp"], ["loud"]]
    assert before.cached_steps == [] and before.jobs == 4
    assert planned.run("local").success

    after = plan_run(planned, "local")
    steps = _steps(after)
    assert after.cached_steps == ["load", "total", "half"]
    assert steps["stamp"].reason == "cache=False"
    assert "'stamp'" in steps["loud"].reason and steps["loud"].cache_key is None
    assert after.undecided_steps == ["loud"]
    again = planned.run("local")
    # stamp wrote what it wrote before, so loud's key matched: an undecided step may hit.
    assert _cached(again) == {*after.cached_steps, "loud"}


def test_the_plans_keys_are_the_keys_the_run_records(planned: Any) -> None:
    run = planned.run("local")
    plan = plan_run(planned, "local")
    for name, step in _steps(plan).items():
        if step.cache_key is not None:
            assert step.cache_key == run.step_results[name].cache_key, name


def test_a_changed_parameter_gives_new_keys_downstream_known_before_the_run(
    planned: Any,
) -> None:
    assert planned.run("local").success
    plan = plan_run(planned, "local", context={"n": 7})
    steps = _steps(plan)
    assert not steps["load"].cached and not steps["total"].cached
    assert steps["total"].cache_key is not None  # from load's new key, not its output
    assert plan.cached_steps == []
    run = planned.run("local", context={"n": 7})
    assert _cached(run) == set() and run.step_results["total"].cache_key == steps["total"].cache_key


def test_a_group_run_as_a_unit_by_a_step_launcher_never_comes_from_the_cache(
    planned: Any,
) -> None:
    from flowyml_local.subprocess_executor import SubprocessExecutor

    assert planned.run("subprocess").success
    plan = plan_run(planned, "subprocess", executor=SubprocessExecutor)
    tail = next(g for g in plan.groups if g.name == "tail")
    assert tail.cached_steps == [] and "one unit" in tail.step_plans[0].reason
    assert _steps(plan)["stamp"].reason == "cache=False"
    assert "'total'" in _steps(plan)["loud"].reason  # fed by a member run without a key
    assert plan.cached_steps == ["load"] and plan.undecided_steps == ["loud"]
    assert _cached(planned.run("subprocess")) == {"load", "loud"}


def test_durations_come_from_the_last_successful_runs_and_missing_ones_are_unknown(
    planned: Any,
) -> None:
    first = plan_run(planned, "local")
    assert first.estimated_seconds is None
    assert planned.run("local", cache=False).success
    plan = plan_run(planned, "local", use_cache=False)
    assert plan.estimated_seconds is not None and plan.estimated_seconds >= 0
    assert plan.notes == ["the cache is off for this run: every step runs"]
    assert plan.cached_steps == []


def test_flowyml_run_plan_json_on_local_submits_nothing(project: Path, planned: Any) -> None:
    cli = FlowymlCli(project)
    done = cli.run("run", "planned.py", "--plan", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["backend"] == "local" and data["jobs"] == 4
    assert data["estimated_cost"] is None
    assert "no price catalog for local" in data["cost_unknown_because"][0]
    from flowyml.project.folder import open_project

    assert open_project(project).run_store.list_runs() == []  # nothing ran
    table = cli.run("run", "planned.py", "--plan")
    assert table.returncode == 0, table.stderr
    assert "jobs: 4 of 4 group(s)" in table.stdout and "estimated cost: unknown" in table.stdout
    wrong = cli.run("run", "planned.py", "--json")
    assert wrong.returncode == 2 and "--json and --yaml go with --plan" in wrong.stderr
    resumed = cli.run("run", "planned.py", "--plan", "--resume", "some-run")
    assert resumed.returncode == 2 and "--plan cannot show a resumed run yet" in resumed.stderr


def test_plan_on_a_backend_that_cannot_plan_is_a_clear_error(
    planned: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import flowyml.execution.launch as launch
    from flowyml.backend import StackConfig
    from flowyml.cli.plan import build_plan

    class Elsewhere:  # a remote orchestrator without plan(): neither plans nor is an executor
        pass

    monkeypatch.setattr(
        launch, "build_backend", lambda *_a, **_k: (StackConfig(backend="elsewhere"), Elsewhere())
    )
    with pytest.raises(SystemExit) as exited:
        build_plan(planned, "elsewhere", {}, no_cache=False)
    assert exited.value.code == 2
    assert "backend 'elsewhere' cannot show a plan" in capsys.readouterr().err
