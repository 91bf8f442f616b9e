"""Statuses, results and submissions (flowyml/status.py, flowyml/results.py)."""

from __future__ import annotations

import time

import pytest

from flowyml import ExecutionResult, ExecutionStatus, SubmissionResult, WaitTimeoutError


def test_status_predicates():
    assert ExecutionStatus.CACHED.is_successful and ExecutionStatus.CACHED.is_finished
    assert ExecutionStatus.CANCELLED.is_failed and not ExecutionStatus.RUNNING.is_finished


def test_result_status_reflects_flags():
    assert (
        ExecutionResult(step_name="a", success=True, cached=True).status is ExecutionStatus.CACHED
    )
    assert ExecutionResult(step_name="a", success=False).status is ExecutionStatus.FAILED


def test_wait_really_times_out():
    submission = SubmissionResult(job_id="j", run_id="r", orchestrator="x").bind(
        lambda: ExecutionStatus.RUNNING
    )
    start = time.monotonic()
    with pytest.raises(WaitTimeoutError, match="still running after 0.3 s"):
        submission.wait(timeout=0.3, poll_interval=0.05)
    assert time.monotonic() - start < 2


def test_wait_returns_the_final_status():
    states = iter([ExecutionStatus.RUNNING, ExecutionStatus.SUCCESS])
    submission = SubmissionResult(job_id="j", run_id="r", orchestrator="x").bind(
        lambda: next(states)
    )
    assert submission.wait(timeout=5, poll_interval=0.01) is ExecutionStatus.SUCCESS


def test_submit_options_read_pipeline_run_keywords():
    from flowyml.execution.remote import SubmitOptions
    from flowyml.project.config import StackConfig

    bare = SubmitOptions.from_kwargs({})
    assert (bare.fail_fast, bare.use_cache, bare.resume_from, bare.echo_logs) == (
        True,
        True,
        None,
        True,
    )
    stack = StackConfig(backend="docker", cache=False, fail_fast=False)
    given = SubmitOptions.from_kwargs({"stack": stack, "resume_from": "r1", "echo_logs": False})
    assert (given.fail_fast, given.use_cache, given.resume_from, given.echo_logs) == (
        False,
        False,
        "r1",
        False,
    )
    assert SubmitOptions.from_kwargs({"stack": stack, "fail_fast": True}).fail_fast


def test_built_result_is_what_model_construct_makes():
    from datetime import UTC, datetime

    import pydantic

    from flowyml.records.results import built_result

    cases = [
        {"step_name": "a", "success": True},
        {"step_name": "b", "success": False, "error": "boom", "traceback": "tb", "retries": 2},
        {
            "step_name": "c",
            "success": True,
            "output": [1, 2],
            "outputs": {"x": "file:///x"},
            "started_at": datetime.now(UTC),
            "cached": True,
            "cache_key": "k",
        },
    ]
    for fields in cases:
        built = built_result(**fields)
        constructed = ExecutionResult.model_construct(**fields)
        assert built == constructed
        assert built.model_dump() == constructed.model_dump()
        assert built.model_fields_set == constructed.model_fields_set
        assert built.status is constructed.status
        with pytest.raises(pydantic.ValidationError):
            built.success = not built.success  # frozen, like every result
    assert built_result(step_name="a", success=True).outputs is not (
        built_result(step_name="a", success=True).outputs
    )
