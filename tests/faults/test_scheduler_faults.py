"""Failures deep in large pipelines, and several runs sharing one project at once."""

from __future__ import annotations

import pytest
from cli_process import only_run
from conftest import PIPELINES, assert_artifacts_load

from flowyml.project.folder import forget_projects, open_project


@pytest.mark.parametrize("fail_fast", [True, False])
def test_a_3000_step_chain_failing_at_step_10_is_recorded_without_crashing_the_scheduler(
    fail_fast, project
):
    from fault_pipelines import long_chain

    run = long_chain(3000, 10).run(fail_fast=fail_fast)
    assert run.status.value == "failed"
    assert run.failed_steps == ["link10"]
    assert [n for n, r in run.step_results.items() if r.success] == [f"link{i}" for i in range(10)]
    assert len(run.not_run) == 3000 - 11
    assert "link 10 broke" in (run.error or "")
    record = only_run(project)
    assert len(record.steps) == 11 and record.status.value == "failed"


def test_two_concurrent_runs_sharing_the_cache_both_succeed_and_agree(backend, cli, project):
    args = ("run", f"{PIPELINES}:shared", "--backend", backend, "--quiet")
    first, second = cli.start(*args), cli.start(*args)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert all("total:\n4950" in out for out, _ in outs)
    forget_projects()
    runs = open_project().run_store.list_runs()
    assert sorted(r.status.value for r in runs) == ["success", "success"]
    for run in runs:
        assert_artifacts_load(open_project().run_store.get_run(run.run_id))
    third = cli.run(*args)
    assert third.returncode == 0 and "total:\n4950" in third.stdout
