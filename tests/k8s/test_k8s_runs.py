"""Runs on the fake cluster: Jobs per group, stop, logs kept after deletion, secrets,
kubectl, plan, and the clean-up of a crashed run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from polling import stored_output
from test_k8s_harness import *  # noqa: F403 - the shared fixtures
from test_k8s_harness import load_pipeline, run_objects, stack_of

from flowyml.backend import DockerConfig
from flowyml.testing import wait_for

NAMESPACE = "flowyml-tests"


def submit(orchestrator: Any, project: Path, name: str, run_id: str, **options: Any) -> Any:
    return orchestrator.run_pipeline(
        load_pipeline(project, name), run_id, stack=stack_of(project), echo_logs=False, **options
    )


def test_a_run_succeeds_with_one_job_per_group(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    submission = submit(orchestrator, k8s_project, "talking", "run-talk")
    assert submission.wait(timeout=120).value == "success"
    details = orchestrator.get_run_details("run-talk")
    assert set(details["groups"]) == {"start", "chatty"}
    jobs = {g["job_name"] for g in details["groups"].values()}
    assert set(submission.group_job_ids.values()) == jobs
    created = backend_fake.requests.requests(verb="create", resource="jobs")
    spec = created[0].body["spec"]
    assert spec["backoffLimit"] == 0
    container = spec["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["step-runner", "--run-id"]


def test_stop_run_deletes_the_jobs_and_waits_for_the_pods(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    submission = submit(orchestrator, k8s_project, "sleeping", "run-stop")
    wait_for(lambda: "sleepy started" in orchestrator.get_run_logs("run-stop"), 60, "sleepy")
    # The pod's output is in the run store while it runs, for every reader.
    wait_for(lambda: "sleepy started" in stored_output("run-stop", "sleepy"), 30, "stored output")
    orchestrator.stop_run("run-stop")
    assert run_objects(backend_fake, "run-stop") == [], "graceful stop waits until all is gone"
    assert submission.wait(timeout=30).value == "cancelled"
    deletes = backend_fake.requests.requests(verb="delete", resource="jobs")
    assert deletes and all(r.body.get("propagationPolicy") == "Foreground" for r in deletes)
    assert not backend_fake.leftovers()


def test_logs_are_readable_after_the_jobs_are_deleted(
    orchestrator: Any, k8s_project: Path, k8s_settings: dict[str, Any], backend_fake: Any
) -> None:
    from flowyml_k8s import KubernetesOrchestrator

    submission = submit(orchestrator, k8s_project, "talking", "run-logs")
    assert submission.wait(timeout=120).value == "success"
    streamed = [e["message"] for e in orchestrator.stream_logs("run-logs", poll_interval=0.1)]
    assert "line 029" in streamed
    orchestrator.stop_run("run-logs")  # deletes the finished Jobs too
    assert run_objects(backend_fake, "run-logs") == []
    other_process = KubernetesOrchestrator(**k8s_settings)
    assert "line 029" in other_process.get_run_logs("run-logs")
    out = subprocess.run(
        [str(Path(sys.executable).with_name("flowyml")), "runs", "logs", "run-logs"],
        cwd=k8s_project,
        capture_output=True,
        text=True,
    )
    assert "line 029" in out.stdout, out.stderr


def test_secret_env_goes_through_a_secret_owned_by_the_job(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    value = "s3cr3t-token-value"
    docker = DockerConfig(secret_env={"API_TOKEN": value})
    submission = submit(orchestrator, k8s_project, "telling", "run-secret", docker_config=docker)
    assert submission.wait(timeout=120).value == "success"
    assert value not in orchestrator.get_run_logs("run-secret")
    assert "token is **********" in orchestrator.get_run_logs("run-secret")
    assert value not in json.dumps(orchestrator.get_run_details("run-secret"), default=str)
    for job in backend_fake.cluster.store.items("jobs"):
        assert value not in json.dumps(job)
    (secret,) = [
        s
        for s in backend_fake.cluster.store.items("secrets")
        if s["metadata"]["labels"].get("flowyml.io/group") == "tell"
    ]
    owner = secret["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Job"
    orchestrator.stop_run("run-secret")
    assert run_objects(backend_fake, "run-secret") == []


def test_kubectl_lists_a_runs_jobs_and_pods_and_prints_a_step_log(
    orchestrator: Any,
    k8s_project: Path,
    k8s_settings: dict[str, Any],
    kubectl: str,
    backend_fake: Any,
) -> None:
    submission = submit(orchestrator, k8s_project, "talking", "run-kubectl")
    assert submission.wait(timeout=120).value == "success"
    base = [kubectl, "--kubeconfig", k8s_settings["kubeconfig"], "-n", NAMESPACE]
    listed = subprocess.run(
        [*base, "get", "jobs,pods", "-l", "flowyml.io/run-id=run-kubectl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    job = orchestrator.get_run_details("run-kubectl")["groups"]["chatty"]["job_name"]
    assert job in listed.stdout and "Completed" in listed.stdout, listed.stdout
    pod = orchestrator.get_run_details("run-kubectl")["groups"]["chatty"]["pod"]
    logs = subprocess.run([*base, "logs", pod], capture_output=True, text=True, timeout=60)
    assert "line 000" in logs.stdout, logs.stderr


def test_plan_renders_jobs_and_secrets_without_creating_anything(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    import yaml

    docker = DockerConfig(secret_env={"API_TOKEN": "never-shown"})
    text = orchestrator.plan(
        load_pipeline(k8s_project, "overrunning"),
        "planned",
        docker_config=docker,
        stack=stack_of(k8s_project),
    ).details["yaml"]
    documents = list(yaml.safe_load_all(text))
    kinds = [d["kind"] for d in documents]
    assert kinds == ["Secret", "Job", "Secret", "Job"]
    assert "never-shown" not in text
    assert documents[3]["spec"]["activeDeadlineSeconds"] == 3
    assert not [r for r in backend_fake.requests.requests() if r.method in ("POST", "PUT", "PATCH")]


def test_a_crashed_runs_objects_are_deleted_by_label(
    orchestrator: Any, k8s_project: Path, backend_fake: Any
) -> None:
    from flowyml_k8s.crashed_runs import delete_crashed_run_objects

    submission = submit(orchestrator, k8s_project, "sleeping", "run-crash")
    wait_for(lambda: "sleepy started" in orchestrator.get_run_logs("run-crash"), 60, "sleepy")
    deleted = delete_crashed_run_objects("run-crash")  # the stack's settings, from flowyml.yaml
    assert any(d.startswith("job/") for d in deleted), deleted
    wait_for(lambda: not run_objects(backend_fake, "run-crash"), 30, "the run's objects to go")
    assert submission.wait(timeout=30).value == "failed"


def test_another_process_sees_the_runs_groups_by_label(
    orchestrator: Any, k8s_project: Path, k8s_settings: dict[str, Any], backend_fake: Any
) -> None:
    from flowyml_k8s import KubernetesOrchestrator

    submission = submit(orchestrator, k8s_project, "sleeping", "run-foreign")
    wait_for(lambda: "sleepy started" in orchestrator.get_run_logs("run-foreign"), 60, "sleepy")
    other = KubernetesOrchestrator(**k8s_settings)
    assert other.get_run_status("run-foreign").value == "running"
    assert other.get_run_details("run-foreign")["groups"]["sleepy"]["status"] == "running"
    assert "sleepy started" in other.get_run_logs("run-foreign")
    other.stop_run("run-foreign")
    assert run_objects(backend_fake, "run-foreign") == []
    assert submission.wait(timeout=30).value in ("cancelled", "failed")


def test_flowyml_run_plan_prints_the_jobs_and_creates_nothing(
    k8s_project: Path, backend_fake: Any
) -> None:
    import yaml
    from cli_process import FlowymlCli

    done = FlowymlCli(k8s_project).run(
        "run", "pipelines.py:overrunning", "-b", "k8s", "--plan", "--yaml"
    )
    assert done.returncode == 0, done.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(done.stdout) if d]
    assert "Job" in kinds, done.stdout
    assert not [r for r in backend_fake.requests.requests() if r.method in ("POST", "PUT", "PATCH")]
