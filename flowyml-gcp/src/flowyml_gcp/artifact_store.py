"""The ``gs://`` artifact store: artifacts, tasks and result manifests in Cloud Storage.

The layout, hashing and errors are the core's bucket store
(:class:`~flowyml.backend.BucketArtifactStore`); here is only how Cloud Storage is
reached. Each object is written with one upload, which Cloud Storage makes visible all at
once, so a reader never sees half an artifact.

Where Cloud Storage is comes from the constructor or, for stores opened by URI (the step
runner in a job's container, or ``run.outputs`` in the submitting process), from the
environment: ``FLOWYML_GCS_ENDPOINT`` (e.g. ``http://127.0.0.1:9023`` for an emulator,
which implies anonymous credentials; ``STORAGE_EMULATOR_HOST`` works too) and
``FLOWYML_GCS_PROJECT``. Otherwise the client uses Google's endpoint and the application
default credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import IO, Any

from flowyml.backend import BucketArtifactStore, Materializer, split_bucket_uri

__all__ = ["ENDPOINT_ENV", "PROJECT_ENV", "GCSArtifactStore", "split_uri", "storage_client"]

ENDPOINT_ENV = "FLOWYML_GCS_ENDPOINT"
PROJECT_ENV = "FLOWYML_GCS_PROJECT"


def split_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/path`` -> ``("bucket", "path")``.

    Raises:
        ArtifactError: ``uri`` is not a ``gs://`` URI with a bucket.
    """
    return split_bucket_uri(uri, "gs")


def storage_client(endpoint: str | None = None, project: str | None = None) -> Any:
    """A ``google.cloud.storage.Client`` for ``endpoint`` (default: the environment's, else
    Google's); an ``http://`` endpoint is an emulator and gets anonymous credentials."""
    from google.cloud import storage  # type: ignore[attr-defined]

    endpoint = endpoint or os.environ.get(ENDPOINT_ENV)
    project = project or os.environ.get(PROJECT_ENV)
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        anonymous = endpoint.startswith("http://")
        credentials = AnonymousCredentials() if anonymous else None  # type: ignore[no-untyped-call]
        return storage.Client(
            project=project or "flowyml",
            credentials=credentials,
            client_options={"api_endpoint": endpoint},
        )
    return storage.Client(project=project)


class GCSArtifactStore(BucketArtifactStore):
    """Artifacts in a Cloud Storage bucket (``gs://bucket/prefix`` roots).

    Args:
        root: ``gs://bucket[/prefix]``.
        materializers: the materializers (default: the built-in ones).
        endpoint: the Cloud Storage endpoint (default: ``FLOWYML_GCS_ENDPOINT``, else
            Google's).
        project: the project billed for requests (default: ``FLOWYML_GCS_PROJECT``).
        client: a ready ``storage.Client`` (overrides ``endpoint`` and ``project``).
    """

    scheme = "gs"

    def __init__(
        self,
        root: str,
        materializers: Sequence[Materializer] | None = None,
        *,
        endpoint: str | None = None,
        project: str | None = None,
        client: Any = None,
    ) -> None:
        super().__init__(root, materializers)
        self._endpoint = endpoint
        self._project = project
        self._client = client
        self._bucket: Any = None
        self._lock = threading.Lock()

    @property
    def bucket(self) -> Any:
        """The ``storage.Bucket`` (client built on first use)."""
        with self._lock:
            if self._bucket is None:
                if self._client is None:
                    self._client = storage_client(self._endpoint, self._project)
                self._bucket = self._client.bucket(self.bucket_name)
            return self._bucket

    def client_errors(self) -> tuple[type[BaseException], ...]:
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError
        from requests import RequestException

        return (GoogleAPIError, GoogleAuthError, RequestException, OSError)

    def put_object(self, key: str, body: IO[bytes], size: int) -> None:
        self.bucket.blob(key).upload_from_file(body, size=size, rewind=False)

    def get_object(self, key: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            data: bytes = self.bucket.blob(key).download_as_bytes()
        except NotFound:
            return None
        return data

    def has_object(self, key: str) -> bool:
        return bool(self.bucket.blob(key).exists())
