"""The batch/v1 Job (and its env Secret) of one step group, as plain dicts.

One pure function per object, so ``plan()`` renders exactly what a run creates. The
Job runs one pod, once (``backoffLimit: 0``: retries are the step runner's, counted in
one place), whose single container runs ``flowyml step-runner``. A step's timeout is the
Job's ``activeDeadlineSeconds``; ``ResourceConfig`` becomes requests and limits. Secret
values never enter the Job: ``secret_env`` is a Secret of the group, referenced by
``secretKeyRef``, owned by the Job once it exists (so it goes with it).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from flowyml.backend import ResourceConfig
from flowyml_k8s.config import KubernetesConfig

__all__ = [
    "CONTAINER",
    "GROUP_LABEL",
    "RUN_LABEL",
    "JobPlan",
    "job_manifest",
    "job_name",
    "label_value",
    "resource_requirements",
    "run_selector",
    "secret_manifest",
]

Obj = dict[str, Any]

RUN_LABEL = "flowyml.io/run-id"
GROUP_LABEL = "flowyml.io/group"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
RUN_ANNOTATION = "flowyml.io/run-id"
GROUP_ANNOTATION = "flowyml.io/group"
STEPS_ANNOTATION = "flowyml.io/steps"
CONTAINER = "step-runner"
_UNSAFE = re.compile(r"[^a-z0-9-]+")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def label_value(value: str) -> str:
    """``value`` as a label value (63 chars of ``[A-Za-z0-9._-]``, alphanumeric ends); a
    value that does not fit keeps a readable head and a hash of the whole."""
    clean = _LABEL_UNSAFE.sub("-", value).strip("-._")
    if clean == value and len(value) <= 63:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:10]
    return f"{clean[:52].strip('-._')}-{digest}".strip("-")


def run_selector(run_id: str) -> str:
    """The label selector of every object of a run."""
    return f"{RUN_LABEL}={label_value(run_id)}"


def job_name(run_id: str, group: str) -> str:
    """A DNS-label Job name unique per run and group (the pod name adds 6 characters)."""
    digest = hashlib.sha256(f"{run_id}\0{group}".encode()).hexdigest()[:8]
    slug = _UNSAFE.sub("-", f"{group}".lower()).strip("-")[:35] or "group"
    return f"flowyml-{slug}-{digest}".replace("--", "-")


def _cpu(cores: float) -> str:
    millis = math.ceil(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _memory(value: str) -> str:
    """Kubernetes spells ``GiB`` ``Gi``; plain byte counts pass."""
    text = value.strip()
    for suffix in ("iB", "ib", "B", "b"):
        if text.endswith(suffix) and not text[: -len(suffix)].isdigit():
            return text[: -len(suffix)] + ("i" if suffix.lower() == "ib" else "")
    if text.endswith(("b", "B")):
        return text[:-1]
    return text


def resource_requirements(limits: ResourceConfig, config: KubernetesConfig) -> Obj:
    """Container ``resources``: requests equal limits (a step's ask is what it gets)."""
    amounts: dict[str, str] = {}
    if limits.cpu:
        amounts["cpu"] = _cpu(limits.cpu)
    if limits.memory:
        amounts["memory"] = _memory(limits.memory)
    if limits.disk_gb:
        amounts["ephemeral-storage"] = f"{limits.disk_gb}G"
    if limits.gpu:
        amounts[config.gpu_resource] = str(limits.gpu)
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}


@dataclass
class JobPlan:
    """What one group's Job needs beyond the settings.

    Attributes:
        run_id: the run.
        group: the group.
        steps: the group's steps, in order.
        image: the image reference pods pull.
        args: the arguments after ``flowyml`` (``step-runner ...``).
        env: plain environment variables.
        secret_keys: names of the secret environment variables (values elsewhere).
        resources: the group's resources (defaults applied).
        timeout: seconds the group may run, or ``None``.
        artifact_path: where the artifact claim is mounted (``None``: no claim).
    """

    run_id: str
    group: str
    steps: list[str]
    image: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    resources: ResourceConfig = field(default_factory=ResourceConfig)
    timeout: float | None = None
    artifact_path: str | None = None

    @property
    def name(self) -> str:
        """The Job's name (also the prefix of its pod's and its Secret's)."""
        return job_name(self.run_id, self.group)

    @property
    def secret_name(self) -> str:
        """The name of the group's env Secret."""
        return f"{self.name}-env"

    def labels(self, config: KubernetesConfig) -> dict[str, str]:
        """Labels of the Job, its pod and its Secret."""
        return {
            **config.labels,
            MANAGED_LABEL: "flowyml",
            RUN_LABEL: label_value(self.run_id),
            GROUP_LABEL: label_value(self.group),
        }

    def annotations(self, config: KubernetesConfig) -> dict[str, str]:
        """Annotations of the Job and its pod: the run id and group in full."""
        return {
            **config.annotations,
            RUN_ANNOTATION: self.run_id,
            GROUP_ANNOTATION: self.group,
            STEPS_ANNOTATION: ",".join(self.steps),
        }


def _volumes(plan: JobPlan, config: KubernetesConfig) -> tuple[list[Obj], list[Obj]]:
    volumes: list[Obj] = []
    mounts: list[Obj] = []
    if config.artifact_claim and plan.artifact_path:
        volumes.append(
            {"name": "artifacts", "persistentVolumeClaim": {"claimName": config.artifact_claim}}
        )
        mounts.append({"name": "artifacts", "mountPath": plan.artifact_path})
    if plan.resources.shm_size:
        volumes.append(
            {
                "name": "dshm",
                "emptyDir": {"medium": "Memory", "sizeLimit": _memory(plan.resources.shm_size)},
            }
        )
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    return volumes, mounts


def job_manifest(plan: JobPlan, config: KubernetesConfig, namespace: str) -> Obj:
    """The group's Job."""
    env: list[Obj] = [{"name": k, "value": v} for k, v in plan.env.items()]
    env += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": plan.secret_name, "key": key}}}
        for key in plan.secret_keys
    ]
    volumes, mounts = _volumes(plan, config)
    container: Obj = {
        "name": CONTAINER,
        "image": plan.image,
        "imagePullPolicy": config.image_pull_policy,
        "command": ["flowyml"],
        "args": [*plan.args, "--steps", ",".join(plan.steps)],
        "env": env,
    }
    resources = resource_requirements(plan.resources, config)
    if resources:
        container["resources"] = resources
    if mounts:
        container["volumeMounts"] = mounts
    node_selector = dict(config.node_selector)
    if plan.resources.gpu and plan.resources.gpu_type:
        node_selector[config.gpu_node_label] = plan.resources.gpu_type
    pod_spec: Obj = {"restartPolicy": "Never", "containers": [container]}
    optional: dict[str, Any] = {
        "serviceAccountName": config.service_account,
        "imagePullSecrets": [{"name": n} for n in config.image_pull_secrets],
        "nodeSelector": node_selector,
        "tolerations": config.tolerations,
        "affinity": config.affinity,
        "securityContext": config.pod_security_context,
        "terminationGracePeriodSeconds": config.termination_grace_seconds,
        "volumes": volumes,
    }
    pod_spec.update({k: v for k, v in optional.items() if v not in (None, [], {})})
    labels, annotations = plan.labels(config), plan.annotations(config)
    spec: Obj = {
        "backoffLimit": 0,
        "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod_spec},
    }
    if plan.timeout:
        spec["activeDeadlineSeconds"] = max(1, math.ceil(plan.timeout))
    if config.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = config.ttl_seconds_after_finished
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": plan.name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


def secret_manifest(
    plan: JobPlan, config: KubernetesConfig, namespace: str, values: dict[str, str] | None
) -> Obj:
    """The group's env Secret; ``values=None`` renders it without them (for a plan)."""
    shown = values if values is not None else dict.fromkeys(plan.secret_keys, "<redacted>")
    data = {key: shown.get(key, "") for key in plan.secret_keys}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": plan.secret_name,
            "namespace": namespace,
            "labels": plan.labels(config),
        },
        "stringData": data,
    }
