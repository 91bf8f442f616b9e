"""Benchmark of the sagemaker backend's client side, against the loopback AWS services.

Starts moto (S3, CloudWatch Logs) and the fake SageMaker from ``tests/aws/fakes`` (whose
training jobs run on the local Docker engine, network ``host``), then:

- ``overhead``: runs a one-step group ``--groups`` times, one after another. Per group,
  the client-side overhead is the executor's wall time minus the job's life on the
  server (CreationTime to TrainingEndTime, which holds the image pull and the container
  run), with the task and manifest transfer through S3 and the AWS requests sent.
- ``waiting``: one group whose step sleeps ``--sleep`` seconds, with the polling
  settings ``--poll-initial``/``--poll-max``: requests per group while waiting
  (DescribeTrainingJob from the fake's counters; CloudWatch Logs calls from the
  client's), which grow with the logarithm of the wait rather than linearly.

Prints one JSON object (median, min and max of each per-group figure). Needs the Docker
engine, the registry on 127.0.0.1:5000 and the base image (``bash .ci/services``).

    python bench/bench_sagemaker.py [--groups 5] [--sleep 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "aws"))

from fakes.moto_server import aws_environment  # noqa: E402

os.environ.update(aws_environment())
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

PIPELINES = textwrap.dedent(
    """
    import time
    from flowyml import Context, Pipeline, step

    @step(outputs=["out"])
    def work(seconds: float) -> list[int]:
        time.sleep(seconds)
        return list(range(1000))

    quick = Pipeline("bench-quick", steps=[work], context=Context(seconds=0.0))
    """
)


def run_groups(backend: Any, server: Any, pipeline: Any, count: int, seconds: float) -> list[dict]:
    """Run the one-step group ``count`` times through the executor; per-group figures."""
    from flowyml.backend import DockerConfig, RunTracker, installed_materializers
    from flowyml_aws.artifact_store import S3ArtifactStore
    from flowyml_aws.config import s3_output_uri
    from flowyml_aws.executor import SageMakerExecutor

    config = backend._docker_config(backend.config.docker or DockerConfig())
    state = RunTracker("bench", pipeline.name, backend="sagemaker", handle_key="job_name")
    image, ref = backend._image(pipeline, config, state)
    store = S3ArtifactStore(
        backend.artifact_store_uri(), installed_materializers(), client=backend.clients.client("s3")
    )
    executor = SageMakerExecutor(
        backend.clients,
        state,
        image,
        pipeline=pipeline.name,
        output_uri=str(s3_output_uri(backend.config)),
        pipeline_ref=ref,
        env=backend.container_env(config),
    )
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    store.write_named = timed("transfer", store.write_named)  # type: ignore[method-assign]
    store.read_named = timed("transfer", store.read_named)  # type: ignore[method-assign]
    step = pipeline.steps[0]
    figures = []
    for index in range(count):
        group = f"g{index}"
        timings.clear()
        calls_before = dict(backend.clients.calls)
        started = time.perf_counter()
        results = executor.run_steps(
            [step],
            {},
            {step.name: {"seconds": seconds}},
            store,
            f"bench-{uuid.uuid4().hex[:8]}",
            "bench",
            group=group,
            timeout=None,
        )
        wall = time.perf_counter() - started
        assert results[0].success, results[0].error
        name = state.groups[group].handle
        job = executor.describe(name)
        calls = {k: v - calls_before.get(k, 0) for k, v in backend.clients.calls.items()}
        calls = {k: v for k, v in calls.items() if v}
        server_seconds = (job["TrainingEndTime"] - job["CreationTime"]).total_seconds()
        figures.append(
            {
                "wall_seconds": wall,
                "server_job_seconds": server_seconds,
                "container_run_seconds": (
                    job["TrainingEndTime"] - job["TrainingStartTime"]
                ).total_seconds(),
                "client_overhead_seconds": wall - server_seconds,
                "transfer_seconds": timings.get("transfer", 0.0),
                "api_calls": sum(calls.values()) - 1,  # the Describe above is the bench's
                "describe_calls_on_server": server.call_count("DescribeTrainingJob", job_name=name)
                - 1,
                "client_calls": calls,
            }
        )
    return figures


def spread(figures: list[dict[str, Any]], key: str) -> dict[str, float]:
    values = [float(f[key]) for f in figures]
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--sleep", type=float, default=20.0)
    parser.add_argument("--poll-initial", type=float, default=0.5)
    parser.add_argument("--poll-max", type=float, default=5.0)
    args = parser.parse_args()

    import docker
    from fakes.account import ROLE_ARN
    from fakes.job_runner import RunnerSettings
    from fakes.moto_server import MotoServer
    from fakes.probe_image import BASE_IMAGE
    from fakes.sagemaker import FakeSageMaker

    engine = docker.from_env()
    moto = MotoServer()
    moto.start()
    url = moto.endpoint
    settings = RunnerSettings(
        network_mode="host",
        stop_grace_seconds=1.0,
        container_env=aws_environment({"s3": url, "logs": url}),
    )
    server = FakeSageMaker(engine, lambda: moto.client("logs"), settings=settings)
    server.start()
    folder = Path(tempfile.mkdtemp(prefix="flowyml-bench-sagemaker-"))
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        moto.client("s3").create_bucket(Bucket=bucket)
        (folder / "flowyml.yaml").write_text("")
        (folder / "pipelines.py").write_text(PIPELINES)
        os.chdir(folder)
        sys.path.insert(0, str(folder))
        from flowyml.backend import DockerConfig
        from flowyml.definition.references import load_reference
        from flowyml_aws import SageMakerOrchestrator

        def backend(poll_initial: float, poll_max: float) -> Any:
            return SageMakerOrchestrator(
                role_arn=ROLE_ARN,
                s3_bucket=f"s3://{bucket}",
                endpoints={"sagemaker": server.endpoint, "s3": url, "logs": url},
                image_registry="127.0.0.1:5000/flowyml-bench",
                base_image=BASE_IMAGE,
                poll_initial_seconds=poll_initial,
                poll_max_seconds=poll_max,
                docker=DockerConfig(),
            )

        pipeline = load_reference(f"{folder / 'pipelines.py'}:quick")
        fast = backend(0.05, 0.2)
        run_groups(fast, server, pipeline, 1, 0.0)  # build and push once, outside the figures
        figures = run_groups(fast, server, pipeline, args.groups, 0.0)
        waiting = backend(args.poll_initial, args.poll_max)
        (wait,) = run_groups(waiting, server, pipeline, 1, args.sleep)
        keys = (
            "wall_seconds",
            "server_job_seconds",
            "container_run_seconds",
            "client_overhead_seconds",
            "transfer_seconds",
            "api_calls",
        )
        result = {
            "groups": args.groups,
            "overhead_per_group": {key: spread(figures, key) for key in keys},
            "client_calls_per_group_example": figures[-1]["client_calls"],
            "waiting": {
                "step_sleep_seconds": args.sleep,
                "poll_initial_seconds": args.poll_initial,
                "poll_max_seconds": args.poll_max,
                "api_calls_per_group": wait["api_calls"],
                "describe_calls_on_server": wait["describe_calls_on_server"],
                "client_calls": wait["client_calls"],
                "container_run_seconds": round(wait["container_run_seconds"], 3),
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        server.stop()
        moto.stop()


if __name__ == "__main__":
    main()
