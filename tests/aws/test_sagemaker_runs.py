"""Runs on the sagemaker backend: each group a training job of the fake SageMaker."""

from __future__ import annotations

from typing import Any

from polling import stored_output
from sagemaker_harness import *  # noqa: F403 - the shared fixtures
from sagemaker_harness import project_pipeline


def test_failing_step_fails_the_run_with_its_error(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    run = project_pipeline(sagemaker_project, "failing").run("sagemaker", echo_logs=False)

    assert not run.success
    assert "bad input 3: cannot double it" in run.error


def test_job_that_cannot_start_fails_its_step_with_sagemakers_reason(
    sagemaker_project: Any, sagemaker_settings: dict[str, Any], sagemaker: Any
) -> None:
    from flowyml_aws import SageMakerOrchestrator

    missing = "127.0.0.1:5000/flowyml-aws-missing:404"
    backend = SageMakerOrchestrator(**{**sagemaker_settings, "image": missing})
    pipeline = project_pipeline(sagemaker_project, "failing")

    run = backend.run_pipeline(pipeline, "missing-image-run", echo_logs=False)
    status = run.wait(120)

    details = backend.get_run_details("missing-image-run")
    assert status.value == "failed"
    (group,) = [g for g in details["groups"].values() if g.get("job_name")][:1]
    assert f"Requested image {missing} cannot be used" in group["error"]
    record = sagemaker_project / ".flowyml"
    assert record.exists()


def test_past_max_runtime_the_step_fails_naming_max_runtime_exceeded(
    sagemaker_project: Any, sagemaker_settings: dict[str, Any], sagemaker: Any
) -> None:
    from sagemaker_harness import numpy_requirement

    from flowyml.backend import DockerConfig
    from flowyml_aws import SageMakerOrchestrator

    backend = SageMakerOrchestrator(
        **{**sagemaker_settings, "max_runtime_seconds": 3},
        docker=DockerConfig(requirements=numpy_requirement()),
    )
    pipeline = project_pipeline(sagemaker_project, "sleeping")

    submission = backend.run_pipeline(pipeline, "max-runtime-run", echo_logs=False)
    submission.wait(120)

    details = backend.get_run_details("max-runtime-run")
    sleepy = next(g for g in details["groups"].values() if "sleepy" in g["steps"])
    step_error = sleepy["step_results"]["sleepy"]["error"]
    assert details["status"] == "failed"
    assert "MaxRuntimeExceeded" in step_error
    assert "MaxRuntimeInSeconds=3" in step_error
    assert sleepy["state"] == "Stopped/MaxRuntimeExceeded"


def test_stop_run_mid_run_stops_the_training_job(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    from flowyml.testing import wait_for

    pipeline = project_pipeline(sagemaker_project, "sleeping")
    submission = orchestrator.run_pipeline(pipeline, "stopped-run", echo_logs=False)
    wait_for(
        lambda: "sleepy started" in orchestrator.get_run_logs("stopped-run"), 90, "sleepy to run"
    )
    # The job's output is in the run store while it runs, for every reader.
    wait_for(lambda: "sleepy started" in stored_output("stopped-run", "sleepy"), 30, "stored")

    orchestrator.stop_run("stopped-run")

    assert submission.wait(60).value == "cancelled"
    job = submission.group_job_ids[next(iter(k for k in submission.group_job_ids if "sleepy" in k))]
    assert sagemaker.call_count("StopTrainingJob", job_name=job) >= 1
    assert sagemaker.job(job).status in ("Stopped", "Stopping")


def test_logs_stream_during_the_run_and_stay_with_it(
    orchestrator: Any, sagemaker_project: Any, sagemaker: Any
) -> None:
    from flowyml_aws import SageMakerOrchestrator

    pipeline = project_pipeline(sagemaker_project, "talking")
    orchestrator.run_pipeline(pipeline, "logged-run", echo_logs=False)
    streamed = [e["message"] for e in orchestrator.stream_logs("logged-run", poll_interval=0.2)]

    later = SageMakerOrchestrator(**orchestrator.config.model_dump(exclude={"docker"}))
    kept = later.get_run_logs("logged-run")
    lines = [f"line {i:03d}" for i in range(20)]
    assert [line for line in streamed if line.startswith("line ")] == lines
    assert all(line in kept for line in lines)


def test_secrets_and_long_values_reach_the_step_but_not_the_request(
    sagemaker_project: Any, sagemaker_settings: dict[str, Any], sagemaker: Any, moto_server: Any
) -> None:
    import json

    from sagemaker_harness import numpy_requirement

    from flowyml.backend import DockerConfig
    from flowyml_aws import SageMakerOrchestrator

    secret = "s3cr3t-" + "z" * 20
    arn = moto_server.client("secretsmanager").create_secret(
        Name=f"token-{sagemaker_project.parent.name}", SecretString=secret
    )["ARN"]
    long_value = "y" * 1500
    backend = SageMakerOrchestrator(
        **{**sagemaker_settings, "secrets": {"FLOWYML_TEST_TOKEN": arn}},
        docker=DockerConfig(
            requirements=numpy_requirement(), env={"FLOWYML_TEST_LONG": long_value}
        ),
    )
    pipeline = project_pipeline(sagemaker_project, "environ")

    run = backend.run_pipeline(pipeline, "secret-run", echo_logs=False)
    assert run.wait(180).value == "success", backend.get_run_logs("secret-run")[-3000:]

    from flowyml.backend import artifact_store_for, open_project

    stored = open_project().run_store.get_run("secret-run")
    env_step = next(s for s in stored.steps if s.step == "environment")
    uri = env_step.outputs["env"]["uri"]
    seen = artifact_store_for(uri).load(uri)
    sent = json.dumps(sagemaker.requests.bodies("CreateTrainingJob"))
    assert seen == {"FLOWYML_TEST_TOKEN": secret, "FLOWYML_TEST_LONG": long_value}
    assert secret not in sent
    assert arn in sent
    assert secret not in json.dumps(backend.to_dict())
    assert secret not in backend.get_run_logs("secret-run")
