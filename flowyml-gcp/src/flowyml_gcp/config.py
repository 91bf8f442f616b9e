"""Settings of the ``vertex_ai`` backend, and the checks ``validate()`` runs on them.

The first seven fields are the constructor parameters of the API reference; the rest
say where the APIs are (so one code path talks to Google or to loopback test servers),
how the image is built and pushed, and how patiently to poll and retry.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from flowyml_docker.config import ImageBuildSettings

__all__ = ["VertexAIConfig", "config_problems", "image_repository", "redacted", "staging_uri"]

_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_BUCKET_RE = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/[^\s]*)?$")
_SERVICE_ACCOUNT_RE = re.compile(
    r"^([a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com"
    r"|[0-9]+-compute@developer\.gserviceaccount\.com"
    r"|[a-z0-9-]+@[a-z0-9-]+\.[a-z]+\.gserviceaccount\.com)$"
)
_KMS_RE = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
_NETWORK_RE = re.compile(r"^projects/[0-9]+/global/networks/[a-z]([-a-z0-9]*[a-z0-9])?$")
_REGISTRY_RE = re.compile(r"^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")


class VertexAIConfig(ImageBuildSettings):
    """Settings of the ``vertex_ai`` backend (``stacks.NAME.settings`` in flowyml.yaml).

    Attributes:
        name: the orchestrator's name.
        project_id: the Google Cloud project the jobs run in.
        region: the Vertex AI region (``europe-west1``...).
        service_account: the email of the service account the jobs run as.
        network: the VPC network the jobs are peered with
            (``projects/NUMBER/global/networks/NAME``).
        encryption_key: a Cloud KMS key protecting the jobs
            (``projects/P/locations/L/keyRings/R/cryptoKeys/K``).
        staging_bucket: ``gs://bucket[/prefix]`` holding artifacts, tasks and result
            manifests; it is the run's artifact store unless the stack names a ``gs://``
            one.
        vertex_endpoint: the JobService endpoint (default ``REGION-aiplatform.googleapis.com``).
        logging_endpoint: the Cloud Logging endpoint (default ``logging.googleapis.com``).
        storage_endpoint: the Cloud Storage endpoint (default Google's).
        container_storage_endpoint: the Cloud Storage endpoint as the jobs' containers
            reach it (default: ``storage_endpoint``).
        insecure: plain-text gRPC channels without credentials — loopback test servers only.
        credentials_file: a service-account key file; default: application default
            credentials.
        image: a prebuilt image holding flowyml and the project; nothing is built.
        image_registry: where images are pushed (default
            ``REGION-docker.pkg.dev/PROJECT/REPOSITORY``).
        artifact_repository: the Artifact Registry repository of the default registry.
        machine_type: the machine of groups whose resources name none.
        boot_disk_type: ``pd-ssd`` or ``pd-standard``.
        boot_disk_size_gb: the boot disk of groups whose resources name none.
        replica_count: replicas of the (single) worker pool of each job.
        default_accelerator: the accelerator of groups asking for GPUs without a type.
        labels: extra labels on every job.
        max_parallel: how many group jobs may run at once.
        poll_initial_seconds: first wait between two polls of a running job.
        poll_max_seconds: the longest wait between two polls (the wait grows by half
            each time up to this).
        retry_initial_seconds: first back-off after a transient API error.
        retry_deadline_seconds: give up retrying a call after this long.
        cancel_timeout_seconds: how long a graceful ``stop_run`` waits for the jobs to be
            cancelled.
        distributions: the flowyml distributions installed in the image.

    The image is built as :class:`~flowyml_docker.config.ImageBuildSettings` say
    (``base_image``, ``docker_host``, ``project_dir``, ``python_version``...).
    """

    name: str = "vertex_ai"
    project_id: str | None = None
    region: str = "europe-west1"
    service_account: str | None = None
    network: str | None = None
    encryption_key: str | None = None
    staging_bucket: str | None = None
    vertex_endpoint: str | None = None
    logging_endpoint: str | None = None
    storage_endpoint: str | None = None
    container_storage_endpoint: str | None = None
    insecure: bool = False
    credentials_file: str | None = None
    image: str | None = None
    image_registry: str | None = None
    artifact_repository: str = "flowyml"
    distributions: list[str] = Field(default_factory=lambda: ["flowyml-core", "flowyml-gcp"])
    machine_type: str = "n1-standard-4"
    boot_disk_type: str = "pd-ssd"
    boot_disk_size_gb: int = Field(default=100, ge=10)
    replica_count: int = Field(default=1, ge=1)
    default_accelerator: str = "NVIDIA_TESLA_T4"
    labels: dict[str, str] = Field(default_factory=dict)
    max_parallel: int = Field(default=8, ge=1, le=256)
    poll_initial_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=30.0, gt=0)
    retry_initial_seconds: float = Field(default=1.0, gt=0)
    retry_deadline_seconds: float = Field(default=120.0, gt=0)
    cancel_timeout_seconds: float = Field(default=300.0, ge=0)

    @property
    def vertex_address(self) -> str:
        """The JobService endpoint, ``host:port``."""
        return self.vertex_endpoint or f"{self.region}-aiplatform.googleapis.com:443"

    @property
    def logging_address(self) -> str:
        """The Cloud Logging endpoint, ``host:port``."""
        return self.logging_endpoint or "logging.googleapis.com:443"

    @property
    def parent(self) -> str:
        """The ``projects/P/locations/R`` parent of the jobs."""
        return f"projects/{self.project_id}/locations/{self.region}"


def staging_uri(config: VertexAIConfig) -> str | None:
    """The staging bucket as a ``gs://`` URI without a trailing slash."""
    bucket = config.staging_bucket
    if not bucket:
        return None
    return (bucket if bucket.startswith("gs://") else f"gs://{bucket}").rstrip("/")


def image_repository(config: VertexAIConfig) -> str:
    """Where the run's image is pushed: the configured registry, or Artifact Registry."""
    if config.image_registry:
        return config.image_registry.rstrip("/")
    return f"{config.region}-docker.pkg.dev/{config.project_id}/{config.artifact_repository}"


def config_problems(config: VertexAIConfig) -> list[str]:
    """Everything wrong with the settings' formats, one sentence each (empty: none).

    Checks the project id, region, staging bucket, service account, network, encryption
    key and image registry; credentials are checked by the orchestrator.
    """
    problems: list[str] = []
    if not config.project_id:
        problems.append("project_id is not set: name the Google Cloud project to run jobs in")
    elif not _PROJECT_RE.match(config.project_id):
        problems.append(
            f"project_id {config.project_id!r} is not a project id (6 to 30 lowercase "
            "letters, digits or hyphens, starting with a letter)"
        )
    if not _REGION_RE.match(config.region):
        problems.append(f"region {config.region!r} is not a region such as 'europe-west1'")
    bucket = staging_uri(config)
    if bucket is None:
        problems.append("staging_bucket is not set: name a gs:// bucket for artifacts")
    elif not _BUCKET_RE.match(bucket):
        problems.append(
            f"staging_bucket {config.staging_bucket!r} is not a bucket URI such as "
            "'gs://my-bucket' or 'gs://my-bucket/prefix'"
        )
    if config.service_account and not _SERVICE_ACCOUNT_RE.match(config.service_account):
        problems.append(
            f"service_account {config.service_account!r} is not a service account email "
            "such as 'NAME@PROJECT.iam.gserviceaccount.com'"
        )
    if config.network and not _NETWORK_RE.match(config.network):
        problems.append(
            f"network {config.network!r} is not 'projects/PROJECT_NUMBER/global/networks/NAME'"
        )
    if config.encryption_key and not _KMS_RE.match(config.encryption_key):
        problems.append(
            f"encryption_key {config.encryption_key!r} is not "
            "'projects/P/locations/L/keyRings/R/cryptoKeys/K'"
        )
    if not config.image:
        registry = image_repository(config)
        if not _REGISTRY_RE.match(registry):
            problems.append(
                f"image registry {registry!r} is not 'HOST[:PORT]/PATH' (e.g. "
                "'europe-west1-docker.pkg.dev/my-project/flowyml')"
            )
    if config.poll_max_seconds < config.poll_initial_seconds:
        problems.append("poll_max_seconds is smaller than poll_initial_seconds")
    return problems


def redacted(config: VertexAIConfig) -> dict[str, Any]:
    """The settings as plain data, secret environment values masked."""
    data = config.model_dump(mode="json")
    docker = data.get("docker")
    if docker and docker.get("secret_env"):
        docker["secret_env"] = {k: "**********" for k in docker["secret_env"]}
    return data
