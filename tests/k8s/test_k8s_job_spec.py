"""The Job of a group (pure): resources, GPUs, deadline, secrets, settings; and the
states read from a Job and its pod. No cluster needed."""

from __future__ import annotations

import pytest

from flowyml.backend import ConfigError, ExecutionStatus, ResourceConfig
from flowyml_k8s.config import KubernetesConfig
from flowyml_k8s.job_spec import JobPlan, job_manifest, label_value, secret_manifest
from flowyml_k8s.job_states import job_state


def plan(**changes: object) -> JobPlan:
    fields: dict[str, object] = {
        "run_id": "r1",
        "group": "train",
        "steps": ["train"],
        "image": "reg/img:1",
        "args": ["step-runner"],
    }
    return JobPlan(**{**fields, **changes})  # type: ignore[arg-type]


def test_resources_become_requests_and_limits_with_a_gpu_node_selector() -> None:
    config = KubernetesConfig(image="x")
    resources = ResourceConfig(cpu=0.5, memory="4GiB", disk_gb=20, gpu=2, gpu_type="nvidia-l4")
    job = job_manifest(plan(resources=resources), config, "ns")
    pod = job["spec"]["template"]["spec"]
    limits = pod["containers"][0]["resources"]["limits"]
    assert limits == {
        "cpu": "500m",
        "memory": "4Gi",
        "ephemeral-storage": "20G",
        "nvidia.com/gpu": "2",
    }
    assert pod["containers"][0]["resources"]["requests"] == limits
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}


def test_timeout_is_the_active_deadline_and_retries_stay_ours() -> None:
    job = job_manifest(plan(timeout=2.5), KubernetesConfig(image="x"), "ns")
    assert job["spec"]["activeDeadlineSeconds"] == 3
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_settings_reach_the_pod_spec() -> None:
    config = KubernetesConfig(
        image="x",
        service_account="runner",
        image_pull_secrets=["regcred"],
        node_selector={"pool": "ml"},
        tolerations=[{"key": "gpu", "operator": "Exists"}],
        affinity={"nodeAffinity": {}},
        labels={"team": "a"},
        annotations={"note": "b"},
        ttl_seconds_after_finished=60,
        pod_security_context={"runAsUser": 1000},
    )
    job = job_manifest(plan(), config, "ns")
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "runner"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["nodeSelector"] == {"pool": "ml"} and pod["tolerations"][0]["key"] == "gpu"
    assert pod["securityContext"] == {"runAsUser": 1000}
    assert job["spec"]["ttlSecondsAfterFinished"] == 60
    assert job["metadata"]["labels"]["team"] == "a"
    assert job["metadata"]["labels"]["flowyml.io/run-id"] == "r1"
    assert job["spec"]["template"]["metadata"]["annotations"]["note"] == "b"


def test_secret_values_never_enter_the_job() -> None:
    config = KubernetesConfig(image="x")
    p = plan(secret_keys=["TOKEN"])
    job = job_manifest(p, config, "ns")
    (env,) = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == {
        "name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": p.secret_name, "key": "TOKEN"}},
    }
    assert secret_manifest(p, config, "ns", None)["stringData"] == {"TOKEN": "<redacted>"}


def test_long_run_ids_become_valid_label_values() -> None:
    value = label_value("x" * 80 + "/weird")
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()


def test_a_local_artifact_store_setting_is_refused_naming_the_claim() -> None:
    from flowyml_k8s import KubernetesOrchestrator

    with pytest.raises(ConfigError, match="artifact_claim"):
        KubernetesOrchestrator(artifact_store="file:///tmp/x")


def pod(phase: str, **status: object) -> dict[str, object]:
    return {
        "metadata": {"name": "p", "creationTimestamp": "t"},
        "status": {"phase": phase, **status},
    }


def test_an_evicted_pod_is_named() -> None:
    job = {
        "status": {
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
        }
    }
    state = job_state(job, [pod("Failed", reason="Evicted", message="low on memory")])
    assert state.status is ExecutionStatus.FAILED and "evicted" in (state.reason or "")


def test_a_job_failing_because_it_is_being_deleted_is_told_as_deleted() -> None:
    def job(failed_at: str) -> dict[str, object]:
        failed = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
        return {
            "metadata": {"deletionTimestamp": "2026-12-02T06:00:05Z"},
            "status": {"conditions": [{**failed, "lastTransitionTime": failed_at}]},
        }

    # Its pod was killed by the deletion: still deleting, and lost once gone.
    state = job_state(job("2026-12-02T06:00:06Z"), [pod("Failed")])
    assert (state.status, state.facts["phase"]) == (ExecutionStatus.RUNNING, "Deleting")
    assert job_state(None, []).status is ExecutionStatus.CANCELLED
    # It had failed before someone deleted it: the failure is what happened.
    state = job_state(job("2026-12-02T06:00:01Z"), [pod("Failed")])
    assert state.status is ExecutionStatus.FAILED


def test_image_pull_failures_fail_at_once() -> None:
    waiting = {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}
    state = job_state(
        {"status": {}}, [pod("Pending", containerStatuses=[{"image": "i:1", "state": waiting}])]
    )
    assert state.fail_now and "'i:1'" in (state.reason or "")


def test_a_signal_is_an_exit_code_past_128() -> None:
    ended = {"terminated": {"exitCode": 0, "signal": 15, "reason": "Error"}}
    job = {
        "status": {
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
        }
    }
    state = job_state(job, [pod("Failed", containerStatuses=[{"state": ended}])])
    assert state.exit_code == 143
