"""Settings of the ``kubernetes`` backend, and the checks ``validate()`` runs on them.

Where the cluster is (a kubeconfig file and context, or the pod's in-cluster account),
what every Job's pod gets (namespace, service account, pull secrets, placement, labels,
security context, TTL), where artifacts live, and how patiently Jobs are followed. The
image is built as :class:`~flowyml_docker.config.ImageBuildSettings` say and pushed to
``image_registry``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import Field, field_validator

from flowyml_docker.config import ImageBuildSettings

__all__ = ["KubernetesConfig", "config_problems", "redacted"]

_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_REGISTRY_RE = re.compile(r"^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")
_REMOTE_STORES = ("gs://", "s3://")


class KubernetesConfig(ImageBuildSettings):
    """Settings of the ``kubernetes`` backend (``stacks.NAME.settings`` in flowyml.yaml).

    Attributes:
        name: the orchestrator's name.
        kubeconfig: the kubeconfig file (default ``$KUBECONFIG`` or ``~/.kube/config``).
        context: the kubeconfig context (default: its current context).
        in_cluster: use the service account of the pod this process runs in instead of
            a kubeconfig.
        namespace: where Jobs, pods and Secrets are created (default: the context's
            namespace, else ``default``).
        service_account: the service account the pods run as.
        image_pull_secrets: names of Secrets the kubelet pulls the image with.
        node_selector: labels a node must carry to run a step.
        tolerations: pod tolerations, as in a pod spec.
        affinity: pod affinity, as in a pod spec.
        labels: extra labels of every Job, pod and Secret.
        annotations: extra annotations of every Job and pod.
        ttl_seconds_after_finished: Kubernetes deletes a finished Job (and its pods)
            after this long; ``None`` keeps them. Logs are saved with the run before.
        pod_security_context: the pods' ``securityContext`` (``runAsUser``...).
        termination_grace_seconds: SIGTERM to SIGKILL when a pod is stopped.
        image_pull_policy: ``IfNotPresent``, ``Always`` or ``Never``.
        image: a prebuilt image holding flowyml and the project; nothing is built.
        image_registry: where the built image is pushed (``HOST[:PORT]/PATH``); pods
            pull it from there.
        artifact_store: a ``gs://`` or ``s3://`` store every pod reaches (the stack's
            ``artifact_store`` wins when it is one of those).
        artifact_claim: a PersistentVolumeClaim holding the stack's local artifact store,
            mounted in every pod at the same path as on this machine (the way to use a
            ``file://`` store; the claim must be ReadWriteMany or the pods share a node).
        gpu_resource: the extended resource GPUs are asked for with.
        gpu_node_label: the node label a GPU type is selected with.
        max_parallel: how many group Jobs may run at once.
        poll_initial_seconds: first wait between two looks at a running Job.
        poll_max_seconds: the longest wait between two looks (it grows by half each time).
        start_deadline_seconds: how long a pod may stay unscheduled (or otherwise
            unable to start) before its group fails.
        deadline_slack_seconds: past a step's timeout (the Job's
            ``activeDeadlineSeconds``), how long to wait for Kubernetes to end the Job
            before deleting it ourselves.
        stop_timeout_seconds: how long a graceful ``stop_run`` waits for the pods to go.
        request_timeout_seconds: timeout of one API request.
        distributions: the flowyml distributions installed in the image.
    """

    name: str = "kubernetes"
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    namespace: str | None = None
    service_account: str | None = None
    image_pull_secrets: list[str] = Field(default_factory=list)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    affinity: dict[str, Any] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    ttl_seconds_after_finished: int | None = Field(default=3600, ge=0)
    pod_security_context: dict[str, Any] | None = None
    termination_grace_seconds: int | None = Field(default=None, ge=0)
    image_pull_policy: str = "IfNotPresent"
    image: str | None = None
    image_registry: str | None = None
    artifact_store: str | None = None
    artifact_claim: str | None = None
    gpu_resource: str = "nvidia.com/gpu"
    gpu_node_label: str = "cloud.google.com/gke-accelerator"
    max_parallel: int = Field(default=8, ge=1, le=256)
    poll_initial_seconds: float = Field(default=1.0, gt=0)
    poll_max_seconds: float = Field(default=10.0, gt=0)
    start_deadline_seconds: float = Field(default=600.0, gt=0)
    deadline_slack_seconds: float = Field(default=30.0, ge=0)
    stop_timeout_seconds: float = Field(default=120.0, ge=0)
    request_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("kubeconfig")
    @classmethod
    def _kubeconfig_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isfile(os.path.expanduser(value)):
            raise ValueError(f"{value} is not a file")
        return value

    @field_validator("image_pull_policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in ("IfNotPresent", "Always", "Never"):
            raise ValueError("must be 'IfNotPresent', 'Always' or 'Never'")
        return value

    @field_validator("artifact_store")
    @classmethod
    def _remote_store(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_REMOTE_STORES):
            raise ValueError(
                "must be a gs:// or s3:// URI; for a local store set artifact_claim instead"
            )
        return value


def config_problems(config: KubernetesConfig) -> list[str]:
    """Everything wrong with the settings' formats, one sentence each (empty: none)."""
    problems: list[str] = []
    if config.namespace and not _DNS_LABEL_RE.match(config.namespace):
        problems.append(f"namespace {config.namespace!r} is not a DNS label (a-z, 0-9, '-')")
    if config.service_account and not _DNS_SUBDOMAIN_RE.match(config.service_account):
        problems.append(f"service_account {config.service_account!r} is not a valid name")
    for secret in config.image_pull_secrets:
        if not _DNS_SUBDOMAIN_RE.match(secret):
            problems.append(f"image_pull_secrets: {secret!r} is not a valid Secret name")
    if config.artifact_claim and not _DNS_SUBDOMAIN_RE.match(config.artifact_claim):
        problems.append(f"artifact_claim {config.artifact_claim!r} is not a valid claim name")
    if not config.image:
        if not config.image_registry:
            problems.append(
                "image_registry is not set: name the registry the cluster pulls images from "
                "(e.g. 'registry.example.com/team'), or set image to a prebuilt one"
            )
        elif not _REGISTRY_RE.match(config.image_registry):
            problems.append(f"image_registry {config.image_registry!r} is not 'HOST[:PORT]/PATH'")
    if config.in_cluster and config.kubeconfig:
        problems.append("in_cluster and kubeconfig are both set: choose one")
    if config.poll_max_seconds < config.poll_initial_seconds:
        problems.append("poll_max_seconds is smaller than poll_initial_seconds")
    return problems


def redacted(config: KubernetesConfig) -> dict[str, Any]:
    """The settings as plain data, secret environment values masked."""
    data = config.model_dump(mode="json")
    docker = data.get("docker")
    if docker and docker.get("secret_env"):
        docker["secret_env"] = {k: "**********" for k in docker["secret_env"]}
    return data
