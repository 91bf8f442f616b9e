"""Benchmark of the kubernetes backend's client side, against the loopback fake apiserver.

Starts the fake apiserver of ``tests/k8s/fakes`` (each Job's pod runs as a container on
the local Docker engine; the artifact folder is its PersistentVolumeClaim), then:

- ``overhead``: runs a one-step pipeline ``--groups`` times, one after another. Per
  group, the client-side overhead is the launch's wall time (Secret/Job creation to the
  executor's return) minus the container's life on the engine (its ``start`` to ``die``
  events), i.e. API calls, polling delay, log copying and the fake's kubelet.
- ``waiting``: one group whose step sleeps ``--sleep`` seconds: API requests the backend
  made while waiting (from the fake's request log), which grow with the logarithm of
  the wait (the poll interval grows by half up to ``--poll-max``), not linearly.

Prints one JSON object. Needs the Docker engine, the registry on 127.0.0.1:5000 and the
base image (``bash .ci/services``).

    /work/dev/bin/python bench/bench_k8s.py [--groups 7] [--sleep 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "k8s"))

PIPELINES = textwrap.dedent(
    """
    import time
    from flowyml import Context, Pipeline, step

    @step(outputs=["out"])
    def work(seconds: float) -> list[int]:
        time.sleep(seconds)
        return list(range(1000))

    quick = Pipeline("bench-k8s", steps=[work], context=Context(seconds=0.0))
    """
)


class ContainerClock:
    """Start and die times (ns) of the fake's containers, from the engine's events."""

    def __init__(self, client: Any, server_id: str) -> None:
        from fakes import SERVER_LABEL

        self.label, self.server_id = SERVER_LABEL, server_id

        self.lives: dict[str, list[int]] = {}
        self._events = client.events(decode=True, filters={"type": "container"})
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for event in self._events:
            labels = event.get("Actor", {}).get("Attributes", {})
            if labels.get(self.label) != self.server_id:
                continue
            if event.get("Action") in ("start", "die"):
                self.lives.setdefault(event["id"], []).append(int(event["timeNano"]))

    def seconds(self) -> list[float]:
        return [(t[-1] - t[0]) / 1e9 for t in self.lives.values() if len(t) >= 2]

    def close(self) -> None:
        self._events.close()


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "stdev": round(statistics.stdev(values), 3) if len(values) > 1 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=7)
    parser.add_argument("--sleep", type=float, default=20.0)
    parser.add_argument("--poll-initial", type=float, default=1.0)
    parser.add_argument("--poll-max", type=float, default=10.0)
    args = parser.parse_args()

    import docker
    from conftest import BASE_IMAGE
    from fakes import ClusterSettings, FakeKubeApiServer

    from flowyml.definition.references import load_reference
    from flowyml.project.folder import forget_projects, open_project
    from flowyml_k8s import KubernetesOrchestrator
    from flowyml_k8s.executor import KubernetesExecutor

    client = docker.from_env()
    work = Path(tempfile.mkdtemp(prefix="bench-k8s-")).resolve()
    artifacts = work / "artifacts"
    artifacts.mkdir()
    project = work / "project"
    project.mkdir()
    (project / "pipelines.py").write_text(PIPELINES)
    (project / "flowyml.yaml").write_text(
        "stacks:\n  k8s:\n    backend: kubernetes\n    cache: false\n"
        f"    artifact_store: {artifacts.as_uri()}\n"
    )
    os.chdir(project)
    forget_projects()
    server = FakeKubeApiServer(client, ClusterSettings(claims={"artifacts": str(artifacts)}))
    server.start()
    clock = ContainerClock(client, server.server_id)
    launches: list[float] = []
    original = KubernetesExecutor.launch

    def timed(self: Any, *a: Any, **k: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            launches.append(time.perf_counter() - started)

    KubernetesExecutor.launch = timed  # type: ignore[method-assign]
    try:
        settings = {
            "kubeconfig": str(server.write_kubeconfig(work / "kubeconfig", "bench")),
            "image_registry": "127.0.0.1:5000/flowyml-k8s-bench",
            "base_image": BASE_IMAGE,
            "artifact_claim": "artifacts",
            "pod_security_context": {"runAsUser": os.getuid(), "runAsGroup": os.getgid()},
        }
        pipeline = load_reference(f"{project / 'pipelines.py'}:quick")
        stack = open_project(project).config.resolve("k8s")[1]

        def orchestrator(initial: float, maximum: float) -> Any:
            return KubernetesOrchestrator(
                **settings, poll_initial_seconds=initial, poll_max_seconds=maximum
            )

        # Warm-up: builds and pushes the image once.
        fast = orchestrator(0.1, 0.5)
        warm = fast.run_pipeline(pipeline, "warmup", stack=stack, echo_logs=False)
        if warm.wait(300).value != "success":
            raise SystemExit(fast.get_run_logs("warmup"))
        launches.clear()
        clock.lives.clear()
        for i in range(args.groups):
            fast.run_pipeline(pipeline, f"over-{i}", stack=stack, echo_logs=False).wait(120)
        time.sleep(1.0)  # the last die event
        lives = clock.seconds()
        quick_launches = list(launches)
        overhead = [w - c for w, c in zip(quick_launches, lives, strict=False)]
        server.requests.clear()
        waiting = orchestrator(args.poll_initial, args.poll_max)
        started = time.perf_counter()
        waiting.run_pipeline(
            pipeline, "waiting", stack=stack, echo_logs=False, context={"seconds": args.sleep}
        ).wait(args.sleep + 120)
        wait_seconds = time.perf_counter() - started
        calls = server.requests.by_verb()
        result = {
            "groups": args.groups,
            "overhead": {
                "poll_initial_seconds": 0.1,
                "poll_max_seconds": 0.5,
                "launch_seconds": spread(quick_launches),
                "container_seconds": spread(lives),
                "client_overhead_seconds": spread(overhead),
            },
            "waiting": {
                "sleep_seconds": args.sleep,
                "run_seconds": round(wait_seconds, 2),
                "poll_initial_seconds": args.poll_initial,
                "poll_max_seconds": args.poll_max,
                "api_calls_per_group": sum(calls.values()),
                "by_verb": dict(calls),
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        KubernetesExecutor.launch = original  # type: ignore[method-assign]
        clock.close()
        server.stop()
        client.close()


if __name__ == "__main__":
    main()
