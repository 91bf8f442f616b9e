"""Each way a group's Job can end badly ends the run with the reason named."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from test_k8s_harness import *  # noqa: F403 - the shared fixtures
from test_k8s_harness import load_pipeline, stack_of

from flowyml.testing import wait_for


def run(orchestrator: Any, project: Path, name: str, run_id: str, **options: Any) -> dict[str, Any]:
    submission = orchestrator.run_pipeline(
        load_pipeline(project, name), run_id, stack=stack_of(project), echo_logs=False, **options
    )
    submission.wait(timeout=120)
    return dict(orchestrator.get_run_details(run_id))


def failed_group(details: dict[str, Any], group: str) -> dict[str, Any]:
    assert details["status"] == "failed", details
    return dict(details["groups"][group])


def test_a_failing_step_names_its_error(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    details = run(orchestrator, k8s_project, "failing", "fault-fail")
    assert "bad input 3" in details["error"]
    assert failed_group(details, "explode")["exit_code"] not in (None, 0)


def test_an_oom_kill_is_named_with_the_memory_limit(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    details = run(orchestrator, k8s_project, "hogging", "fault-oom")
    assert "OOMKilled" in details["error"] and "64Mi" in details["error"], details["error"]
    assert failed_group(details, "hog")["exit_code"] == 137


def test_a_step_past_its_deadline_is_ended_by_active_deadline_seconds(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    started = time.monotonic()
    details = run(orchestrator, k8s_project, "overrunning", "fault-deadline")
    assert time.monotonic() - started < 60
    assert "timeout" in details["error"], details["error"]
    group = failed_group(details, "overrun")
    assert "DeadlineExceeded" in group["phase"], group
    job = backend_fake.cluster.store.get("jobs", "flowyml-tests", group["job_name"])
    assert job["spec"]["activeDeadlineSeconds"] == 3


def test_a_bad_image_fails_at_once_naming_the_image(
    k8s_project: Path, k8s_settings: dict[str, Any], backend_fake: Any
) -> None:
    from flowyml_k8s import KubernetesOrchestrator

    image = "127.0.0.1:5000/flowyml-k8s-test/no-such-image:1"
    orchestrator = KubernetesOrchestrator(
        **{**k8s_settings, "start_deadline_seconds": 300.0, "image": image}
    )
    started = time.monotonic()
    details = run(orchestrator, k8s_project, "failing", "fault-image")
    assert time.monotonic() - started < 30, "an image that cannot be pulled fails at once"
    assert image in details["error"] and "cannot be pulled" in details["error"], details["error"]


def test_an_unschedulable_pod_shows_pending_then_fails_after_the_start_deadline(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    submission = orchestrator.run_pipeline(
        load_pipeline(k8s_project, "unplaceable"),
        "fault-unsched",
        stack=stack_of(k8s_project),
        echo_logs=False,
    )

    def pending() -> Any:
        group = orchestrator.get_run_details("fault-unsched")["groups"].get("huge", {})
        return group.get("status") == "pending" and "Insufficient memory" in str(
            group.get("pending_reason")
        )

    wait_for(pending, 60, "the group to show the scheduler's message")
    assert submission.wait(timeout=60).value == "failed"
    error = orchestrator.get_run_details("fault-unsched")["error"]
    assert "start_deadline_seconds" in error and "Insufficient memory" in error, error


def test_an_evicted_pod_is_named(orchestrator: Any, k8s_project: Path, backend_fake: Any) -> None:
    submission = orchestrator.run_pipeline(
        load_pipeline(k8s_project, "sleeping"),
        "fault-evict",
        stack=stack_of(k8s_project),
        echo_logs=False,
    )
    wait_for(lambda: "sleepy started" in orchestrator.get_run_logs("fault-evict"), 60, "sleepy")
    pod = orchestrator.get_run_details("fault-evict")["groups"]["sleepy"]["pod"]
    backend_fake.evict("flowyml-tests", pod)
    assert submission.wait(timeout=60).value == "failed"
    assert "evicted" in orchestrator.get_run_details("fault-evict")["error"]


def test_a_job_deleted_behind_our_back_fails_the_run(
    orchestrator: Any, k8s_project: Path, backend_fake: Any, batch_api_of: Any
) -> None:
    submission = orchestrator.run_pipeline(
        load_pipeline(k8s_project, "sleeping"),
        "fault-gone",
        stack=stack_of(k8s_project),
        echo_logs=False,
    )
    wait_for(lambda: "sleepy started" in orchestrator.get_run_logs("fault-gone"), 60, "sleepy")
    job = orchestrator.get_run_details("fault-gone")["groups"]["sleepy"]["job_name"]
    batch_api_of(backend_fake).delete_namespaced_job(
        job, "flowyml-tests", propagation_policy="Foreground"
    )
    assert submission.wait(timeout=60).value == "failed", "no run stays running without Jobs"
    assert "deleted before it ended" in orchestrator.get_run_details("fault-gone")["error"]
