"""vertex_ai runs against the loopback servers: failures, stopping, retries, refusals, logs."""

from __future__ import annotations

import grpc
import pytest
from fakes.project import PROJECT
from polling import stored_output, wait_for
from test_vertex_harness import *  # noqa: F403 - the shared fixtures
from test_vertex_harness import test_pipeline

pytestmark = pytest.mark.gcp


def submit(orchestrator, project, name, run_id):
    pipeline = test_pipeline(project, name)
    return orchestrator.run_pipeline(pipeline, run_id, echo_logs=False)


def test_failing_step_fails_the_run_with_the_step_error_in_details(orchestrator, vertex_project):
    submission = submit(orchestrator, vertex_project, "failing", "fail-1")
    assert submission.wait(120).value == "failed"
    details = orchestrator.get_run_details(submission.job_id)
    assert details["status"] == "failed"
    assert "bad input 3: cannot double it" in details["error"]
    assert details["failed_steps"] == ["explode"]
    group = details["groups"]["explode"]
    assert group["state"] == "JOB_STATE_FAILED" and group["job_name"]
    assert "ValueError: bad input 3" in group["step_results"]["explode"]["error"]
    assert group["machine"]["machine_type"] == "n1-standard-4"
    assert details["groups"]["start"]["status"] == "success"


def test_pipeline_run_reports_the_failing_step(vertex_project):
    from flowyml.definition.references import load_reference

    run = load_reference(f"{vertex_project / 'pipelines.py'}:failing").run("vertex")
    assert not run.success and run.status.value == "failed"
    assert "bad input 3" in run.step_results["explode"].error
    assert run.outputs["n"] == 3


def test_resume_reuses_the_groups_a_failed_run_completed(vertex_project):
    from flowyml.definition.references import load_reference

    failing = load_reference(f"{vertex_project / 'pipelines.py'}:failing")
    first = failing.run("vertex", echo_logs=False)
    resumed = failing.run("vertex", echo_logs=False, resume=first.run_id)
    assert resumed.step_results["start"].cached  # reused from the failed run, no job
    assert "bad input 3" in resumed.step_results["explode"].error  # ran again


def test_stop_run_cancels_the_running_job(orchestrator, vertex_project, fake_vertex):
    submission = submit(orchestrator, vertex_project, "sleeping", "stop-1")
    job_name = wait_for(lambda: submission.group_job_ids.get("sleepy"), 60, "the sleepy job")
    wait_for(lambda: orchestrator.get_run_status(job_name).value == "running", 60, "job running")
    # The job's output is in the run store while it runs, for every reader.
    wait_for(lambda: "sleepy started" in stored_output("stop-1", "sleepy"), 60, "stored output")
    orchestrator.stop_run(submission.job_id, graceful=True)
    assert orchestrator.get_run_status(submission.job_id).value == "cancelled"
    assert orchestrator.get_run_status(job_name).value == "cancelled"
    assert fake_vertex.wait_for_job(job_name, 30).state.name == "JOB_STATE_CANCELLED"
    assert fake_vertex.faults.call_count("CancelCustomJob") >= 1


def test_stop_run_of_a_custom_job_name_waits_for_cancelled(orchestrator, vertex_project):
    submission = submit(orchestrator, vertex_project, "sleeping", "stop-2")
    job_name = wait_for(lambda: submission.group_job_ids.get("sleepy"), 60, "the sleepy job")
    orchestrator.stop_run(job_name, graceful=True)
    assert orchestrator.get_run_status(job_name).value == "cancelled"
    assert submission.wait(60).value in ("cancelled", "failed")


def test_resource_exhausted_on_create_is_retried_then_succeeds(
    orchestrator, vertex_project, fake_vertex
):
    fake_vertex.faults.fail_next("CreateCustomJob", grpc.StatusCode.RESOURCE_EXHAUSTED, n=2)
    submission = submit(orchestrator, vertex_project, "talking", "retry-1")
    assert submission.wait(120).value == "success"
    assert fake_vertex.faults.call_count("CreateCustomJob") == 2 + 2  # two groups, two retries


def test_permission_denied_is_a_clear_error(orchestrator, vertex_project, fake_vertex):
    fake_vertex.faults.deny(project=PROJECT)
    submission = submit(orchestrator, vertex_project, "failing", "denied-1")
    assert submission.wait(60).value == "failed"
    error = orchestrator.get_run_details(submission.job_id)["error"]
    for part in (
        "permission denied",
        f"project '{PROJECT}'",
        "region 'europe-west1'",
        "group 'start' of run denied-1",
        f"runner@{PROJECT}.iam.gserviceaccount.com",
    ):
        assert part in error, part
    assert fake_vertex.faults.call_count("CreateCustomJob") == 1  # not retried


def test_stream_logs_delivers_every_line_once_in_order(orchestrator, vertex_project):
    submission = submit(orchestrator, vertex_project, "talking", "stream-1")
    entries = list(orchestrator.stream_logs(submission.job_id, poll_interval=0.1))
    assert entries[-1]["is_finished"] is True
    assert not any(e["is_finished"] for e in entries[:-1])
    lines = [e["message"] for e in entries if e["message"].startswith("line ")]
    assert lines == [f"line {i:03d}" for i in range(60)]
    assert all({"timestamp", "severity", "message", "is_finished"} <= set(e) for e in entries)


def test_stream_logs_of_a_custom_job_from_another_process(
    orchestrator, vertex_project, vertex_settings
):
    from flowyml_gcp import VertexAIOrchestrator

    submission = submit(orchestrator, vertex_project, "talking", "stream-2")
    job_name = wait_for(lambda: submission.group_job_ids.get("chatty"), 60, "the chatty job")
    other = VertexAIOrchestrator(**vertex_settings)  # knows nothing of the run
    entries = list(other.stream_logs(job_name, poll_interval=0.1))
    assert entries[-1]["is_finished"] is True and "success" in entries[-1]["message"]
    lines = [e["message"] for e in entries[:-1]]
    assert lines[-60:] == [f"line {i:03d}" for i in range(60)]
    submission.wait(60)
    logs = other.get_run_logs(job_name, max_entries=5)
    assert [line.rsplit(" ", 2)[-2:] for line in logs.splitlines()] == [
        ["line", f"{i:03d}"] for i in range(55, 60)
    ]
    details = other.get_run_details("stream-2")
    assert details["status"] == "success"
    assert set(details["groups"]) == {"start", "chatty"}


def test_interrupt_cancels_the_jobs_without_waiting(orchestrator, vertex_project, fake_vertex):
    # What remote_run does on Ctrl-C: stop_run(graceful=False), i.e. Executor.cancel().
    submission = submit(orchestrator, vertex_project, "sleeping", "ctrl-c-1")
    job_name = wait_for(lambda: submission.group_job_ids.get("sleepy"), 60, "the sleepy job")
    orchestrator.stop_run(submission.job_id, graceful=False)
    assert fake_vertex.faults.call_count("CancelCustomJob") == 1
    assert submission.wait(60).value == "cancelled"
    assert fake_vertex.wait_for_job(job_name, 30).state.name == "JOB_STATE_CANCELLED"
