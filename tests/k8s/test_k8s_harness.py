"""What the kubernetes backend tests share: a fake apiserver whose PersistentVolumeClaim is
the artifact folder, the backend's settings for it, a test project, and leftovers.
(No tests here: fixtures and helpers only; test modules take them with
``from test_k8s_harness import *``.)

Pods see the artifact store as the claim ``flowyml-artifacts``, which the fake binds to
the same host folder, mounted at the same path: a ``file://`` store is the same files on
both sides. They run as the caller's uid, so the files they write are the caller's. The
image is built on the local engine and pushed to the registry on 127.0.0.1:5000, from
which the fake's kubelet pulls it.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_IMAGE

__all__ = [
    "backend_fake",
    "backend_hygiene",
    "batch_api_of",
    "k8s_project",
    "k8s_settings",
    "orchestrator",
    "shared_artifacts",
]

CLAIM = "flowyml-artifacts"
REGISTRY = "127.0.0.1:5000/flowyml-k8s-test"
RUN_LABEL = "flowyml.io/run-id"

# Test pipelines, written into each test's project folder (the same text every time, so
# every test of a session reuses one image).
PIPELINES = textwrap.dedent(
    """
    import os
    import time

    from flowyml import Context, Pipeline, ResourceConfig, step


    @step(outputs=["n"])
    def start(count: int) -> int:
        print(f"starting with {count}", flush=True)
        return count


    @step(inputs=["n"], outputs=["doubled"])
    def explode(n: int) -> int:
        raise ValueError(f"bad input {n}: cannot double it")


    @step(inputs=["n"], outputs=["slept"])
    def sleepy(n: int) -> int:
        print("sleepy started", flush=True)
        time.sleep(120)
        return n


    @step(inputs=["n"], outputs=["slept"], timeout=3)
    def overrun(n: int) -> int:
        print("overrun started", flush=True)
        time.sleep(120)
        return n


    @step(inputs=["n"], outputs=["hog"], resources=ResourceConfig(memory="64Mi"))
    def hog(n: int) -> int:
        print("hogging memory", flush=True)
        block = bytearray(512 * 1024 * 1024)
        return len(block)


    @step(inputs=["n"], outputs=["huge"], resources=ResourceConfig(memory="64Gi"))
    def huge(n: int) -> int:
        return n


    @step(inputs=["n"], outputs=["secret_len"])
    def tell(n: int) -> int:
        token = os.environ["API_TOKEN"]
        print(f"token is {token}", flush=True)
        return len(token)


    @step(inputs=["n"], outputs=["said"])
    def chatty(n: int) -> int:
        for i in range(n):
            print(f"line {i:03d}", flush=True)
        return n


    failing = Pipeline("failing", steps=[start, explode], context=Context(count=3))
    sleeping = Pipeline("sleeping", steps=[start, sleepy], context=Context(count=1))
    overrunning = Pipeline("overrunning", steps=[start, overrun], context=Context(count=1))
    hogging = Pipeline("hogging", steps=[start, hog], context=Context(count=1))
    unplaceable = Pipeline("unplaceable", steps=[start, huge], context=Context(count=1))
    telling = Pipeline("telling", steps=[start, tell], context=Context(count=1))
    talking = Pipeline("talking", steps=[start, chatty], context=Context(count=30))
    """
)


@pytest.fixture(scope="session")
def shared_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host folder the fake's ``flowyml-artifacts`` claim is bound to."""
    return tmp_path_factory.mktemp("k8s-artifacts").resolve()


@pytest.fixture(scope="session")
def backend_fake(docker_engine: Any, shared_artifacts: Path) -> Iterator[Any]:
    """A fake apiserver for the backend tests: the artifact claim bound, grace 1 s."""
    pytest.importorskip("kubernetes", reason="the kubernetes client is not installed")
    from fakes import ClusterSettings, FakeKubeApiServer

    server = FakeKubeApiServer(
        docker_engine,
        ClusterSettings(claims={CLAIM: str(shared_artifacts)}, max_grace_seconds=1.0),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def batch_api_of() -> Iterator[Any]:
    """``server -> BatchV1Api`` of that fake (clients closed after the test)."""
    from kubernetes import client

    made: list[Any] = []

    def make(server: Any) -> Any:
        api = server.api_client()
        made.append(api)
        return client.BatchV1Api(api)

    yield make
    for api in made:
        api.close()


@pytest.fixture(autouse=True)
def backend_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used ``backend_fake``: every object gone, no container left."""
    yield
    if "backend_fake" not in request.fixturenames:
        return
    server = request.getfixturevalue("backend_fake")
    errors = list(server.errors)
    stuck = server.reset()
    left = server.leftovers()
    assert not errors, f"the fake apiserver failed while serving: {errors!r}"
    assert not stuck and not left, f"pods or containers left behind: {stuck} {left}"


@pytest.fixture(scope="session")
def k8s_settings(backend_fake: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Settings of the kubernetes backend pointing at the fake."""
    folder = tmp_path_factory.mktemp("k8s-config")
    kubeconfig = backend_fake.write_kubeconfig(folder / "kubeconfig", "flowyml-tests")
    return {
        "kubeconfig": str(kubeconfig),
        "image_registry": REGISTRY,
        "base_image": BASE_IMAGE,
        "artifact_claim": CLAIM,
        "pod_security_context": {"runAsUser": os.getuid(), "runAsGroup": os.getgid()},
        "labels": {"team": "flowyml-tests"},
        "termination_grace_seconds": 1,
        "poll_initial_seconds": 0.1,
        "poll_max_seconds": 0.5,
        "start_deadline_seconds": 4.0,
        "stop_timeout_seconds": 30.0,
    }


def stack_yaml(settings: dict[str, Any], artifacts: Path) -> str:
    """flowyml.yaml with a `k8s` stack (no cache: every run creates Jobs)."""
    import yaml

    stack = {
        "backend": "kubernetes",
        "cache": False,
        "artifact_store": artifacts.as_uri(),
        "settings": settings,
    }
    return yaml.safe_dump({"stacks": {"k8s": stack}}, sort_keys=False)


@pytest.fixture
def k8s_project(
    tmp_path: Path,
    k8s_settings: dict[str, Any],
    shared_artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A project folder with the test pipelines and a `k8s` stack on the fake."""
    from flowyml.plugins.manager import reset_plugin_manager
    from flowyml.project.folder import forget_projects

    project = tmp_path / "project"
    project.mkdir()
    (project / "flowyml.yaml").write_text(stack_yaml(k8s_settings, shared_artifacts))
    (project / "pipelines.py").write_text(PIPELINES)
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delenv("FLOWYML_BACKEND", raising=False)
    forget_projects()
    reset_plugin_manager()
    yield project
    forget_projects()


@pytest.fixture
def orchestrator(k8s_project: Path, k8s_settings: dict[str, Any]) -> Any:
    """A KubernetesOrchestrator configured like the project's `k8s` stack."""
    from flowyml_k8s import KubernetesOrchestrator

    return KubernetesOrchestrator(**k8s_settings)


def load_pipeline(project: Path, name: str) -> Any:
    """A pipeline of the test project, loaded by file like `flowyml run` does."""
    from flowyml.definition.references import load_reference

    return load_reference(f"{project / 'pipelines.py'}:{name}")


def stack_of(project: Path) -> Any:
    """The project's `k8s` stack."""
    from flowyml.project.folder import open_project

    return open_project(project).config.resolve("k8s")[1]


def still_running(server: Any, run_id: str) -> list[str]:
    """What of the run still runs: unfinished Jobs, pods not ended, their containers.

    Finished Jobs (and their ended pods and Secrets) stay until ``ttlSecondsAfterFinished``,
    for ``kubectl`` to show; they run nothing.
    """
    running = []
    for name in run_objects(server, run_id):
        kind, _, short = name.partition("/")
        obj = server.cluster.store.get(kind, "flowyml-tests", short)
        conditions = {c["type"] for c in (obj.get("status") or {}).get("conditions") or []}
        if kind == "jobs" and not conditions & {"Complete", "Failed"}:
            running.append(name)
        phase = (obj.get("status") or {}).get("phase")
        if kind == "pods" and phase not in ("Succeeded", "Failed"):
            running.append(name)
    return running + [c.name for c in server.leftovers()]


def run_objects(server: Any, run_id: str) -> list[str]:
    """``kind/name`` of every Job, pod and Secret of the run still in the fake."""
    from flowyml_k8s.job_spec import run_selector

    found = []
    for kind in ("jobs", "pods", "secrets"):
        for obj in server.cluster.store.items(kind):
            labels = obj["metadata"].get("labels") or {}
            key, _, value = run_selector(run_id).partition("=")
            if labels.get(key) == value:
                found.append(f"{kind}/{obj['metadata']['name']}")
    return found
