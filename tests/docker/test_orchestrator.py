"""The `docker` backend end to end, on the real engine."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from docker_harness import EXAMPLES, numpy_requirement, pipeline
from polling import wait_for

pytestmark = pytest.mark.docker


def _outputs(run: Any) -> dict[str, Any]:
    assert run.success, run.error
    return {name: run.outputs[name] for name in run.outputs}


def _equal(a: Any, b: Any) -> bool:
    import numpy as np

    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


@pytest.mark.parametrize("name", ["ml_pipeline.py", "fan_out.py"])
def test_example_gives_the_same_outputs_as_local(docker_project, name):
    from flowyml.definition.references import load_reference

    example = load_reference(f"{EXAMPLES / name}:pipeline")
    reference = _outputs(example.run("local"))
    on_docker = _outputs(example.run("docker"))
    assert reference.keys() == on_docker.keys()
    assert all(_equal(reference[k], on_docker[k]) for k in reference)


def test_test_pipeline_outputs_come_back_through_the_manifest(docker_project):
    run = pipeline("demo").run("docker")
    assert run.success, run.error
    assert run.backend == "docker"
    assert run.outputs["summary"] == {"sum_of_squares": 285, "mean": 4.5}


def test_a_step_that_raises_fails_the_run_with_its_traceback(docker_project):
    run = pipeline("failing").run("docker")
    assert not run.success
    result = run.step_results["explode"]
    assert result.status.value == "failed"
    assert "boom from inside the container" in (result.error or "")
    assert "ValueError: boom from inside the container" in (result.traceback or "")
    assert 'pipelines.py", line' in (result.traceback or "")


def test_a_step_over_its_memory_limit_is_named_as_killed_for_memory(docker_project):
    run = pipeline("greedy").run("docker")
    assert not run.success
    result = run.step_results["hog"]
    assert "killed for exceeding its memory limit of 48Mi (OOM)" in (result.error or "")
    assert result.exit_code == 137


def test_run_pipeline_returns_at_once_and_wait_really_times_out(orchestrator):
    from flowyml.records.results import WaitTimeoutError

    started = time.monotonic()
    submission = orchestrator.run_pipeline(pipeline("sleepy"), "sleepy-wait")
    assert time.monotonic() - started < 10
    assert submission.job_id == "sleepy-wait" and submission.orchestrator == "docker"
    with pytest.raises(WaitTimeoutError):
        submission.wait(timeout=0.3)
    assert submission.status().value == "running"
    orchestrator.stop_run(submission.job_id, graceful=False)
    assert submission.wait(timeout=30).value == "cancelled"


def test_stop_run_in_the_middle_of_a_run_cancels_it(orchestrator):
    submission = orchestrator.run_pipeline(pipeline("sleepy"), "sleepy-stop")
    wait_for(lambda: "napping" in orchestrator.get_run_logs("sleepy-stop"), what="the nap")
    started = time.monotonic()
    orchestrator.stop_run("sleepy-stop", graceful=True)
    assert time.monotonic() - started < 2 + 10  # SIGTERM, or SIGKILL after the grace
    assert submission.wait(timeout=30).value == "cancelled"
    details = orchestrator.get_run_details("sleepy-stop")
    assert details["groups"]["nap"]["status"] == "cancelled"
    assert "after_nap" not in details["groups"]
    from flowyml.project.folder import open_project

    assert open_project().run_store.get_run("sleepy-stop").status.value == "cancelled"


def test_a_container_killed_from_outside_fails_the_run(orchestrator, docker_client):
    from flowyml_docker.engine import managed_containers

    submission = orchestrator.run_pipeline(pipeline("sleepy"), "sleepy-kill")
    wait_for(lambda: "napping" in orchestrator.get_run_logs("sleepy-kill"), what="the nap")
    (container,) = managed_containers(docker_client, "sleepy-kill")
    container.kill()
    assert submission.wait(timeout=30).value == "failed"
    results = orchestrator.step_results("sleepy-kill")
    assert results["nap"].exit_code == 137
    assert "SIGKILL" in (results["nap"].error or "")
    assert orchestrator.get_run_details("sleepy-kill")["groups"]["nap"]["exit_code"] == 137


def test_an_unchanged_pipeline_reuses_its_image(orchestrator):
    first = orchestrator.run_pipeline(pipeline("demo"), "reuse-1")
    first.wait(timeout=60)
    second = orchestrator.run_pipeline(pipeline("demo"), "reuse-2")
    assert second.metadata["image_reused"] is True
    assert second.metadata["image"] == first.metadata["image"]
    assert second.wait(timeout=60).value == "success"


def test_independent_groups_run_concurrently_up_to_max_parallel(docker_project):
    from docker_harness import BASE_IMAGE

    from flowyml.project.config import StackConfig
    from flowyml.records.resources import DockerConfig
    from flowyml_docker import DockerOrchestrator

    def overlap(max_parallel: int, run_id: str) -> bool:
        orchestrator = DockerOrchestrator(
            base_image=BASE_IMAGE,
            max_parallel=max_parallel,
            docker=DockerConfig(requirements=numpy_requirement()),
        )
        no_cache = StackConfig(backend="docker", cache=False)
        submission = orchestrator.run_pipeline(pipeline("pair"), run_id, stack=no_cache)
        assert submission.wait(timeout=60).value == "success"
        groups = orchestrator.get_run_details(run_id)["groups"]
        left, right = groups["left"], groups["right"]
        return bool(
            left["started_at"] < right["finished_at"] and right["started_at"] < left["finished_at"]
        )

    assert overlap(2, "pair-2")
    assert not overlap(1, "pair-1")


def test_status_details_and_logs_work_from_another_process(orchestrator):
    from flowyml_docker import DockerOrchestrator

    orchestrator.run_pipeline(pipeline("demo"), "elsewhere").wait(timeout=60)
    other = DockerOrchestrator()  # no in-memory state: record, run store and labels only
    assert other.get_run_status("elsewhere").value == "success"
    details = other.get_run_details("elsewhere")
    assert set(details["groups"]) == {"numbers", "squares", "mean", "summary"}
    for group in details["groups"].values():
        assert group["exit_code"] == 0 and group["container_id"] and group["image"]
        assert group["started_at"] and group["finished_at"]
    assert details["groups"]["numbers"]["step_results"]["numbers"]["status"] == "success"
    assert "making 10 numbers" in other.get_run_logs("elsewhere")
    streamed = list(other.stream_logs("elsewhere", poll_interval=0.1))
    assert streamed[-1]["is_finished"] is True


def test_stream_logs_yields_entries_until_the_run_finishes(orchestrator):
    submission = orchestrator.run_pipeline(pipeline("demo"), "streamed")
    entries = list(orchestrator.stream_logs(submission.job_id, poll_interval=0.1))
    assert all({"timestamp", "severity", "message", "is_finished"} <= set(e) for e in entries)
    assert entries[-1]["is_finished"] is True
    assert not any(e["is_finished"] for e in entries[:-1])
    assert any("making 10 numbers" in e["message"] for e in entries)
    assert orchestrator.get_run_status("streamed").value == "success"


def test_every_container_is_labelled_with_run_and_group(orchestrator, docker_client):
    from flowyml_docker.engine import managed_containers

    orchestrator.run_pipeline(pipeline("sleepy"), "labelled")
    wait_for(lambda: managed_containers(docker_client, "labelled"), what="a container")
    (container,) = managed_containers(docker_client, "labelled")
    assert container.labels["flowyml.run_id"] == "labelled"
    assert container.labels["flowyml.group"] == "nap"
    assert container.labels["flowyml.managed"] == "1"
    assert container.attrs["HostConfig"]["NetworkMode"] == "none"
    orchestrator.stop_run("labelled", graceful=False)


def test_secret_env_values_never_leak(docker_project):
    from docker_harness import BASE_IMAGE

    from flowyml.project.folder import open_project
    from flowyml.records.resources import DockerConfig
    from flowyml_docker import DockerOrchestrator

    token = "s3cr3t-" + "x" * 12
    orchestrator = DockerOrchestrator(
        base_image=BASE_IMAGE,
        docker=DockerConfig(
            requirements=numpy_requirement(), secret_env={"FLOWYML_TEST_TOKEN": token}
        ),
    )
    submission = orchestrator.run_pipeline(pipeline("secretive"), "secret")
    streamed = list(orchestrator.stream_logs("secret", poll_interval=0.1))
    assert submission.wait(timeout=60).value == "success"
    results = orchestrator.step_results("secret")
    assert results["use_token"].load_output("token_length") == len(token)
    other = DockerOrchestrator(base_image=BASE_IMAGE)
    texts = {
        "to_dict": json.dumps(orchestrator.to_dict()),
        "logs": orchestrator.get_run_logs("secret"),
        "logs elsewhere": other.get_run_logs("secret"),
        "stream": json.dumps(streamed),
        "details": json.dumps(orchestrator.get_run_details("secret"), default=str),
        "details elsewhere": json.dumps(other.get_run_details("secret"), default=str),
    }
    home = open_project().home
    db = home / "flowyml.db"
    rows = (
        open_project().db.query("SELECT * FROM logs")
        + open_project().db.query("SELECT * FROM step_runs")
        + open_project().db.query("SELECT * FROM runs")
    )
    texts["run store"] = json.dumps(rows, default=str)
    texts["run store file"] = db.read_bytes().decode(errors="replace")
    texts["records"] = "".join(p.read_text() for p in (home / "docker").rglob("*.json"))
    assert "the token is **********" in texts["logs"]
    for where, text in texts.items():
        assert token not in text, f"the secret leaked into {where}"


def test_resume_reuses_the_completed_groups_of_a_failed_run(docker_project):
    resumable = pipeline("resumable")
    failed = resumable.run("docker", context={"fail": True})
    assert not failed.success and "asked to fail" in failed.step_results["maybe_fail"].error
    resumed = resumable.run("docker", context={"fail": False}, resume=failed.run_id)
    assert resumed.success, resumed.error
    assert resumed.outputs["answer"] == 42
    assert resumed.step_results["base_value"].cached
    assert not resumed.step_results["maybe_fail"].cached


def test_a_running_containers_output_is_in_the_run_store_and_core_stop_run_stops_it(
    orchestrator,
):
    from flowyml.backend import stop_run
    from flowyml.project.folder import open_project
    from flowyml.storage.database import Database
    from flowyml.storage.run_store import RunStore

    submission = orchestrator.run_pipeline(pipeline("sleepy"), "sleepy-live")
    reader = RunStore(Database(open_project().home / "flowyml.db"))  # as another process

    def printed() -> str:
        try:
            return "".join(text for _, _, text in reader.get_logs("sleepy-live", "nap"))
        except Exception:  # not recorded yet
            return ""

    wait_for(lambda: "napping" in printed(), what="the nap's line in the run store")
    assert "asked backend 'docker' to stop run 'sleepy-live'" in stop_run("sleepy-live")
    assert submission.wait(timeout=30).value == "cancelled"
    assert reader.get_run("sleepy-live").status.value == "cancelled"
