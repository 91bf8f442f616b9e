"""Benchmark of the vertex_ai backend's client side, against the loopback test servers.

Starts the fake JobService (which runs each CustomJob's container on the local Docker
engine), the fake Cloud Logging and the GCS emulator from ``tests/gcp/fakes``, then:

- ``overhead``: runs a one-step group ``--groups`` times, one after another. Per group,
  the client-side overhead is the executor's wall time minus the job's life on the
  server (create to end, which holds the image pull and the container run), split into
  the task and manifest transfer through the staging bucket and the API calls made.
- ``waiting``: one group whose step sleeps ``--sleep`` seconds, with the polling
  settings ``--poll-initial``/``--poll-max``: API calls per group while waiting
  (GetCustomJob and ListLogEntries), which grow with the logarithm of the wait rather
  than linearly.

Prints one JSON object. Needs the Docker engine, the registry on 127.0.0.1:5000 and
the base image (``bash .ci/services``).

    python bench/bench_vertex.py [--groups 5] [--sleep 20]
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

os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "gcp"))

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


def _seconds(later: Any, earlier: Any) -> float:
    return float((later - earlier).total_seconds())


def run_groups(
    orchestrator: Any, pipeline: Any, count: int, seconds: float
) -> list[dict[str, Any]]:
    """Run the one-step group ``count`` times through the executor; per-group figures."""
    from flowyml.backend import DockerConfig, RunTracker, installed_materializers
    from flowyml_gcp.artifact_store import GCSArtifactStore
    from flowyml_gcp.executor import VertexExecutor

    config = orchestrator._docker_config(orchestrator.config.docker or DockerConfig())
    state = RunTracker("bench", pipeline.name, backend="vertex_ai", handle_key="job_name")
    image, ref = orchestrator._image(pipeline, config, state)
    store = GCSArtifactStore(
        orchestrator.artifact_store_uri(),
        installed_materializers(),
        endpoint=orchestrator.config.storage_endpoint,
    )
    executor = VertexExecutor(
        orchestrator.apis, state, image, pipeline_ref=ref, env=orchestrator.container_env(config)
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
        before = orchestrator.apis.counter.total()
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
        calls = orchestrator.apis.counter.total() - before
        job = orchestrator._queries.get_job(state.groups[group].handle)
        server = _seconds(job.end_time, job.create_time)
        figures.append(
            {
                "wall_seconds": wall,
                "server_job_seconds": server,
                "container_run_seconds": _seconds(job.end_time, job.start_time),
                "client_overhead_seconds": wall - server,
                "transfer_seconds": timings.get("transfer", 0.0),
                "api_calls": calls,
            }
        )
    return figures


def median(figures: list[dict[str, Any]], key: str) -> float:
    return float(round(statistics.median(f[key] for f in figures), 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--sleep", type=float, default=20.0)
    parser.add_argument("--poll-initial", type=float, default=0.5)
    parser.add_argument("--poll-max", type=float, default=5.0)
    args = parser.parse_args()

    import docker
    from fakes.gcs import GcsEmulator
    from fakes.logging import FakeLogging
    from fakes.probe_image import BASE_IMAGE
    from fakes.project import ARTIFACT_REGISTRY, LOCAL_REGISTRY, LOCATION, PROJECT
    from fakes.vertex import FakeVertex

    engine = docker.from_env()
    vertex = FakeVertex(engine, image_map={ARTIFACT_REGISTRY: LOCAL_REGISTRY})
    vertex.start()
    logging_server = FakeLogging(vertex.log_store)
    logging_server.start()
    gcs = GcsEmulator(PROJECT)
    gcs.start()
    folder = Path(tempfile.mkdtemp(prefix="flowyml-bench-vertex-"))
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        gcs.create_bucket(bucket)
        (folder / "flowyml.yaml").write_text("")
        (folder / "pipelines.py").write_text(PIPELINES)
        os.chdir(folder)
        sys.path.insert(0, str(folder))
        from flowyml.definition.references import load_reference
        from flowyml.records.resources import DockerConfig
        from flowyml_gcp import VertexAIOrchestrator

        def orchestrator(poll_initial: float, poll_max: float) -> Any:
            return VertexAIOrchestrator(
                project_id=PROJECT,
                region=LOCATION,
                staging_bucket=f"gs://{bucket}",
                vertex_endpoint=vertex.address,
                logging_endpoint=logging_server.address,
                storage_endpoint=gcs.endpoint,
                insecure=True,
                image_registry="localhost:5000/flowyml-bench",
                base_image=BASE_IMAGE,
                poll_initial_seconds=poll_initial,
                poll_max_seconds=poll_max,
                docker=DockerConfig(),
            )

        pipeline = load_reference(f"{folder / 'pipelines.py'}:quick")
        fast = orchestrator(0.05, 0.2)
        run_groups(fast, pipeline, 1, 0.0)  # build and push the image once, outside the figures
        figures = run_groups(fast, pipeline, args.groups, 0.0)
        vertex.faults.reset()
        logging_server.faults.reset()
        waiting = orchestrator(args.poll_initial, args.poll_max)
        wait_figures = run_groups(waiting, pipeline, 1, args.sleep)
        result = {
            "groups": args.groups,
            "overhead_per_group": {
                key: median(figures, key)
                for key in (
                    "wall_seconds",
                    "server_job_seconds",
                    "container_run_seconds",
                    "client_overhead_seconds",
                    "transfer_seconds",
                    "api_calls",
                )
            },
            "waiting": {
                "step_sleep_seconds": args.sleep,
                "poll_initial_seconds": args.poll_initial,
                "poll_max_seconds": args.poll_max,
                "api_calls_per_group": wait_figures[0]["api_calls"],
                "server_calls": vertex.faults.call_counts() | logging_server.faults.call_counts(),
                "container_run_seconds": round(wait_figures[0]["container_run_seconds"], 3),
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        vertex.stop()
        logging_server.stop()
        gcs.stop()


if __name__ == "__main__":
    main()
