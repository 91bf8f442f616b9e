"""The fake Kubernetes apiserver, through the official client and kubectl.

Every Job here really runs in ``flowyml-test/python:bookworm`` on the local engine.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from fakes.client_calls import eventually, job_manifest, job_pods, wait_for_job

PY = ["python3", "-c"]


def conditions(job: Any) -> dict[str, Any]:
    return {c.type: c for c in job.status.conditions or [] if c.status == "True"}


def container_state(pod: Any) -> Any:
    return pod.status.container_statuses[0].state


def run_kubectl(kubectl: str, kubeconfig: Path, *args: str) -> str:
    done = subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_job_that_prints_completes_with_its_log_readable(batch_api, core_api, k8s_namespace):
    ns = k8s_namespace
    batch_api.create_namespaced_job(ns, job_manifest("hi", [*PY, "print('hi')"], labels={"a": "b"}))
    job = wait_for_job(batch_api, ns, "hi")
    assert set(conditions(job)) == {"SuccessCriteriaMet", "Complete"}
    assert (job.status.succeeded, job.status.active, job.status.failed) == (1, 0, None)
    assert job.status.start_time <= job.status.completion_time
    [pod] = job_pods(core_api, ns, "hi")
    assert pod.status.phase == "Succeeded"
    assert pod.metadata.labels["a"] == "b"
    assert pod.metadata.labels["controller-uid"] == job.metadata.uid
    assert pod.metadata.owner_references[0].uid == job.metadata.uid
    terminated = container_state(pod).terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert core_api.read_namespaced_pod_log(pod.metadata.name, ns) == "hi\n"
    selector = f"controller-uid={job.metadata.uid},a in (b,c)"
    assert len(core_api.list_namespaced_pod(ns, label_selector=selector).items) == 1
    assert not core_api.list_namespaced_pod(ns, label_selector="a=b,a notin (b)").items


def test_a_failing_exit_code_fails_the_job(batch_api, core_api, k8s_namespace):
    ns = k8s_namespace
    batch_api.create_namespaced_job(ns, job_manifest("boom", [*PY, "raise SystemExit(3)"]))
    job = wait_for_job(batch_api, ns, "boom")
    assert conditions(job)["Failed"].reason == "BackoffLimitExceeded"
    assert "FailureTarget" in conditions(job) and job.status.failed == 1
    [pod] = job_pods(core_api, ns, "boom")
    terminated = container_state(pod).terminated
    assert (pod.status.phase, terminated.exit_code, terminated.reason) == ("Failed", 3, "Error")


def test_a_retry_runs_a_new_pod_while_the_backoff_limit_allows(batch_api, core_api, k8s_namespace):
    batch_api.create_namespaced_job(
        k8s_namespace, job_manifest("again", [*PY, "raise SystemExit(1)"], backoff_limit=1)
    )
    job = wait_for_job(batch_api, k8s_namespace, "again")
    assert job.status.failed == 2
    assert len(job_pods(core_api, k8s_namespace, "again")) == 2


def test_memory_beyond_the_limit_is_oom_killed(batch_api, core_api, k8s_namespace):
    manifest = job_manifest(
        "hog",
        [*PY, "b = bytearray(1 << 30); print(len(b))"],
        resources={"limits": {"memory": "64Mi", "cpu": "1"}},
    )
    batch_api.create_namespaced_job(k8s_namespace, manifest)
    wait_for_job(batch_api, k8s_namespace, "hog")
    [pod] = job_pods(core_api, k8s_namespace, "hog")
    terminated = container_state(pod).terminated
    assert (terminated.exit_code, terminated.reason) == (137, "OOMKilled")


def test_the_active_deadline_kills_the_pod(batch_api, core_api, k8s_namespace, fake_k8s):
    manifest = job_manifest("slow", ["sleep", "300"], active_deadline_seconds=1)
    batch_api.create_namespaced_job(k8s_namespace, manifest)
    job = wait_for_job(batch_api, k8s_namespace, "slow", timeout=20)
    assert conditions(job)["Failed"].reason == "DeadlineExceeded"
    assert job.status.failed == 1 and not job.status.active
    # The pod is terminated when the Job fails; its object goes a moment later, as the
    # garbage collector of a real cluster removes it.
    eventually(lambda: not job_pods(core_api, k8s_namespace, "slow"), 10, "the pod removed")
    assert not fake_k8s.leftovers()


def test_a_missing_image_waits_in_err_image_pull_then_back_off(batch_api, core_api, k8s_namespace):
    image = "127.0.0.1:5000/flowyml-k8s-fake/missing:1"
    batch_api.create_namespaced_job(k8s_namespace, job_manifest("nope", ["true"], image=image))

    def waiting(reason: str) -> Any:
        pods = job_pods(core_api, k8s_namespace, "nope")
        state = pods and pods[0].status.container_statuses and container_state(pods[0])
        return state and state.waiting and state.waiting.reason == reason and state.waiting

    assert image in eventually(lambda: waiting("ErrImagePull"), what="ErrImagePull").message
    assert image in eventually(lambda: waiting("ImagePullBackOff"), what="back-off").message
    job = batch_api.read_namespaced_job("nope", k8s_namespace)
    assert job.status.active == 1 and not conditions(job)


@pytest.mark.parametrize(
    ("resources", "selector", "expected"),
    [
        ({"requests": {"memory": "64Gi"}}, None, "1 Insufficient memory"),
        ({"limits": {"nvidia.com/gpu": "1"}}, None, "1 Insufficient nvidia.com/gpu"),
        ({}, {"pool": "gpu"}, "didn't match Pod's node affinity/selector"),
    ],
)
def test_a_pod_that_fits_no_node_stays_unschedulable(
    batch_api, core_api, k8s_namespace, resources, selector, expected
):
    manifest = job_manifest("big", ["true"], resources=resources, node_selector=selector)
    batch_api.create_namespaced_job(k8s_namespace, manifest)
    [pod] = job_pods(core_api, k8s_namespace, "big")
    [scheduled] = pod.status.conditions
    assert pod.status.phase == "Pending"
    assert (scheduled.type, scheduled.status, scheduled.reason) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    assert (
        scheduled.message.startswith("0/1 nodes are available:") and expected in scheduled.message
    )


def test_a_secret_key_ref_reaches_the_container_and_goes_with_its_job(
    batch_api, core_api, k8s_namespace, fake_k8s
):
    ns = k8s_namespace
    body = {"metadata": {"name": "creds", "labels": {"run": "s"}}, "stringData": {"token": "s3"}}
    core_api.create_namespaced_secret(ns, body)
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]
    code = "import os; print(os.environ['TOKEN'])"
    job = batch_api.create_namespaced_job(ns, job_manifest("sec", [*PY, code], env=env))
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": "sec", "uid": job.metadata.uid}
    core_api.patch_namespaced_secret("creds", ns, {"metadata": {"ownerReferences": [owner]}})
    wait_for_job(batch_api, ns, "sec")
    [pod] = job_pods(core_api, ns, "sec")
    assert core_api.read_namespaced_pod_log(pod.metadata.name, ns) == "s3\n"
    secret = core_api.list_namespaced_secret(ns, label_selector="run=s").items[0]
    assert base64.b64decode(secret.data["token"]) == b"s3"
    assert "s3" not in repr([r.body for r in fake_k8s.requests.requests()])
    batch_api.delete_namespaced_job("sec", ns, propagation_policy="Background")
    eventually(lambda: not core_api.list_namespaced_secret(ns).items, what="secret collected")


def test_a_foreground_delete_mid_run_stops_the_container_first(
    batch_api, core_api, k8s_namespace, fake_k8s, docker_engine
):
    ns = k8s_namespace
    limits = {"limits": {"cpu": "500m", "memory": "128Mi"}}
    batch_api.create_namespaced_job(ns, job_manifest("long", ["sleep", "300"], resources=limits))
    pod = eventually(
        lambda: [p for p in job_pods(core_api, ns, "long") if p.status.phase == "Running"],
        what="pod running",
    )[0]
    [container] = fake_k8s.leftovers()
    host = docker_engine.api.inspect_container(container.id)["HostConfig"]
    assert (host["NanoCpus"], host["Memory"], host["NetworkMode"]) == (5 * 10**8, 128 << 20, "none")
    assert container.labels["flowyml-k8s-fake.pod"] == pod.metadata.name
    assert container.labels["flowyml-k8s-fake.namespace"] == ns
    batch_api.delete_namespaced_job("long", ns, propagation_policy="Foreground")
    job = batch_api.read_namespaced_job("long", ns)
    assert job.metadata.deletion_timestamp and "foregroundDeletion" in job.metadata.finalizers

    def job_gone() -> bool:
        return not batch_api.list_namespaced_job(ns).items

    eventually(job_gone, what="job deleted")
    assert not fake_k8s.leftovers() and not job_pods(core_api, ns, "long")


def test_a_watch_streams_the_jobs_changes(batch_api, k8s_namespace):
    from kubernetes import watch

    ns = k8s_namespace
    batch_api.create_namespaced_job(ns, job_manifest("w", [*PY, "print(1)"], labels={"r": "w"}))
    seen = []
    for event in watch.Watch().stream(
        batch_api.list_namespaced_job, ns, label_selector="r=w", timeout_seconds=20
    ):
        seen.append((event["type"], set(conditions(event["object"]))))
        if "Complete" in seen[-1][1] and seen[-2:-1] and "Complete" not in seen[-2][1]:
            batch_api.delete_namespaced_job("w", ns, propagation_policy="Background")
        if event["type"] == "DELETED":
            break
    assert seen[0][0] == "ADDED" and seen[-1][0] == "DELETED"
    assert any(kind == "MODIFIED" and "Complete" in types for kind, types in seen)
    assert int(event["object"].metadata.resource_version) > 0


def test_a_followed_log_streams_until_the_container_exits(batch_api, core_api, k8s_namespace):
    code = "import time\nfor i in range(3): print(i, flush=True); time.sleep(0.3)"
    batch_api.create_namespaced_job(k8s_namespace, job_manifest("talk", [*PY, code]))
    pod = eventually(
        lambda: [
            p
            for p in job_pods(core_api, k8s_namespace, "talk")
            if p.status.phase in ("Running", "Succeeded")
        ],
        what="pod started",
    )[0]
    stream = core_api.read_namespaced_pod_log(
        pod.metadata.name, k8s_namespace, follow=True, _preload_content=False
    )
    assert b"".join(stream.stream()) == b"0\n1\n2\n"
    tail = core_api.read_namespaced_pod_log(pod.metadata.name, k8s_namespace, tail_lines=1)
    assert tail == "2\n"


def test_errors_are_status_objects_the_client_raises(batch_api, core_api, k8s_namespace):
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as missing:
        batch_api.read_namespaced_job("absent", k8s_namespace)
    assert missing.value.status == 404 and "NotFound" in missing.value.body
    manifest = job_manifest("twice", ["true"])
    batch_api.create_namespaced_job(k8s_namespace, manifest)
    with pytest.raises(ApiException) as taken:
        batch_api.create_namespaced_job(k8s_namespace, manifest)
    assert taken.value.status == 409
    manifest["metadata"]["name"] = "wide"
    manifest["spec"]["parallelism"] = 2
    with pytest.raises(ApiException) as invalid:
        batch_api.create_namespaced_job(k8s_namespace, manifest)
    assert invalid.value.status == 422 and "spec.parallelism" in invalid.value.body


def test_an_evicted_pod_fails_its_job(batch_api, core_api, k8s_namespace, fake_k8s):
    batch_api.create_namespaced_job(k8s_namespace, job_manifest("ev", ["sleep", "300"]))
    pod = eventually(
        lambda: [p for p in job_pods(core_api, k8s_namespace, "ev") if p.status.phase == "Running"],
        what="pod running",
    )[0]
    from kubernetes import watch

    name, running = pod.metadata.name, pod.metadata.resource_version
    fake_k8s.evict(k8s_namespace, name)
    job = wait_for_job(batch_api, k8s_namespace, "ev")
    assert conditions(job)["Failed"].reason == "BackoffLimitExceeded"
    [pod] = job_pods(core_api, k8s_namespace, "ev")
    assert (pod.status.phase, pod.status.reason) == ("Failed", "Evicted")
    # Every state the pod passed through since it ran, from the watch's history: a client
    # polling at any moment never saw the evicted pod as a plain failure.
    phases = []
    for event in watch.Watch().stream(
        core_api.list_namespaced_pod,
        k8s_namespace,
        field_selector=f"metadata.name={name}",
        resource_version=running,
        timeout_seconds=2,
    ):
        status = event["object"].status
        phases.append((status.phase, status.reason))
    assert ("Failed", None) not in phases and phases[-1] == ("Failed", "Evicted"), phases


def test_the_request_log_counts_calls(batch_api, k8s_namespace, fake_k8s):
    batch_api.create_namespaced_job(k8s_namespace, job_manifest("dry", ["true"]), dry_run="All")
    assert not batch_api.list_namespaced_job(k8s_namespace).items
    [dry] = fake_k8s.requests.requests(verb="create", resource="jobs")
    assert dry.query == {"dryRun": "All"} and dry.status == 201
    fake_k8s.requests.clear()
    batch_api.list_namespaced_job(k8s_namespace, label_selector="run=x")
    [listed] = fake_k8s.requests.requests(verb="list", resource="jobs")
    assert listed.query == {"labelSelector": "run=x"} and listed.namespace == k8s_namespace
    assert fake_k8s.requests.count(verb="create") == 0
    assert fake_k8s.requests.by_group() == {"batch": 1}
    assert fake_k8s.requests.by_path() == {f"GET /apis/batch/v1/namespaces/{k8s_namespace}/jobs": 1}


def test_kubectl_gets_logs_and_deletes(batch_api, kubectl, k8s_kubeconfig, k8s_namespace):
    batch_api.create_namespaced_job(
        k8s_namespace, job_manifest("kc", [*PY, "print('from kubectl')"], labels={"run": "kc"})
    )
    wait_for_job(batch_api, k8s_namespace, "kc")
    listing = run_kubectl(kubectl, k8s_kubeconfig, "get", "jobs,pods", "-l", "run=kc")
    assert "job.batch/kc" in listing and "Complete" in listing and "1/1" in listing
    assert "pod/kc-" in listing and "Completed" in listing
    assert run_kubectl(kubectl, k8s_kubeconfig, "logs", "job/kc") == "from kubectl\n"
    run_kubectl(kubectl, k8s_kubeconfig, "delete", "job", "kc")
    assert (
        "No resources found"
        in subprocess.run(
            [kubectl, "--kubeconfig", str(k8s_kubeconfig), "get", "jobs,pods"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stderr
    )


def test_volumes_and_host_network_of_a_configured_fake(make_fake_k8s, tmp_path):
    from kubernetes import client

    claim = tmp_path / "claim"
    claim.mkdir()
    server = make_fake_k8s(network_mode="host", claims={"data": str(claim)})
    batch = client.BatchV1Api(server.api_client())
    code = (
        "import urllib.request, sys\n"
        f"v = urllib.request.urlopen('{server.url}/version').read()\n"
        "open('/data/out.txt', 'wb').write(v)\n"
        "open('/scratch/x', 'w').write('ok')"
    )
    volumes = [
        {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "s", "emptyDir": {}},
    ]
    mounts = [{"name": "d", "mountPath": "/data"}, {"name": "s", "mountPath": "/scratch"}]
    manifest = job_manifest("vol", [*PY, code], volumes=volumes, volume_mounts=mounts)
    batch.create_namespaced_job("default", manifest)
    job = wait_for_job(batch, "default", "vol")
    assert "Complete" in conditions(job)
    assert b"gitVersion" in (claim / "out.txt").read_bytes()


def test_stopping_a_fake_leaves_no_container_with_its_label(make_fake_k8s, docker_engine):
    from kubernetes import client

    server = make_fake_k8s()
    batch = client.BatchV1Api(server.api_client())
    batch.create_namespaced_job("default", job_manifest("bye", ["sleep", "300"]))
    eventually(server.leftovers, what="container started")
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(30)
    label = f"flowyml-k8s-fake.server={server.server_id}"
    assert not docker_engine.containers.list(all=True, filters={"label": label})
