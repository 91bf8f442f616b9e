"""The ``gs://`` artifact store: artifacts, tasks and result manifests in Cloud Storage.

Same layout as the core's ``file://`` store: ``ROOT/objects/<2 hex>/<sha256><ext>`` for
artifacts (content-addressed) and ``ROOT/named/<key>`` for tasks and manifests. Each
object is written with one upload, which Cloud Storage makes visible all at once, so a
reader never sees half an artifact.

Where Cloud Storage is comes from the constructor or, for stores opened by URI (the step
runner in a job's container, or ``run.outputs`` in the submitting process), from the
environment: ``FLOWYML_GCS_ENDPOINT`` (e.g. ``http://127.0.0.1:9023`` for an emulator,
which implies anonymous credentials; ``STORAGE_EMULATOR_HOST`` works too) and
``FLOWYML_GCS_PROJECT``. Otherwise the client uses Google's endpoint and the application
default credentials.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from typing import IO, Any

from flowyml.backend import ArtifactError, ArtifactRef, ArtifactStore, Materializer

__all__ = ["ENDPOINT_ENV", "PROJECT_ENV", "GCSArtifactStore", "split_uri", "storage_client"]

ENDPOINT_ENV = "FLOWYML_GCS_ENDPOINT"
PROJECT_ENV = "FLOWYML_GCS_PROJECT"
_SPOOL_LIMIT = 32 * 1024 * 1024


def split_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/path`` -> ``("bucket", "path")``.

    Raises:
        ArtifactError: ``uri`` is not a ``gs://`` URI with a bucket.
    """
    if not uri.startswith("gs://"):
        raise ArtifactError(f"{uri} is not a gs:// URI")
    bucket, _, path = uri[len("gs://") :].partition("/")
    if not bucket:
        raise ArtifactError(f"{uri} names no bucket")
    return bucket, path


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


class GCSArtifactStore(ArtifactStore):
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
        self.bucket_name, self.prefix = split_uri(self.root)
        self._endpoint = endpoint
        self._project = project
        self._client = client
        self._bucket: Any = None
        self._known: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def root_of(cls, uri: str) -> str:
        for marker in ("/objects/", "/named/"):
            if marker in uri:
                return uri.split(marker, 1)[0]
        return uri.rstrip("/")

    # -- connection --------------------------------------------------------------------------
    @property
    def bucket(self) -> Any:
        """The ``storage.Bucket`` (client built on first use)."""
        with self._lock:
            if self._bucket is None:
                if self._client is None:
                    self._client = storage_client(self._endpoint, self._project)
                self._bucket = self._client.bucket(self.bucket_name)
            return self._bucket

    def _path(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _blob_of(self, uri: str) -> Any:
        bucket, path = split_uri(uri)
        if bucket != self.bucket_name:
            raise ArtifactError(f"{uri} is not in this store's bucket gs://{self.bucket_name}")
        return self.bucket.blob(path)

    @staticmethod
    def _errors() -> tuple[type[BaseException], ...]:
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError
        from requests import RequestException

        return (GoogleAPIError, GoogleAuthError, RequestException, OSError)

    # -- objects --------------------------------------------------------------------------
    def write_object(self, chunks: Iterable[bytes | memoryview], extension: str) -> ArtifactRef:
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT) as spool:
            for chunk in chunks:
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            hexdigest = digest.hexdigest()
            name = f"objects/{hexdigest[:2]}/{hexdigest}{extension}"
            uri = f"{self.root}/{name}"
            if name not in self._known:
                blob = self.bucket.blob(self._path(name))
                try:
                    # Content-addressed: an existing object already holds these bytes.
                    if not blob.exists():
                        spool.seek(0)
                        blob.upload_from_file(spool, size=size, rewind=False)
                except self._errors() as exc:
                    raise ArtifactError(f"cannot write {uri}: {exc}") from exc
                self._known.add(name)
        return ArtifactRef(uri, hexdigest, size, self)

    def open(self, uri: str) -> IO[bytes]:
        from google.api_core.exceptions import NotFound

        blob = self._blob_of(uri)
        try:
            return io.BytesIO(blob.download_as_bytes())
        except NotFound:
            raise ArtifactError(f"artifact {uri} does not exist") from None
        except self._errors() as exc:
            raise ArtifactError(f"cannot read artifact {uri}: {exc}") from exc

    def exists(self, uri: str) -> bool:
        name = uri[len(self.root) + 1 :] if uri.startswith(self.root + "/") else None
        if name is not None and name in self._known:
            return True
        try:
            found = bool(self._blob_of(uri).exists())
        except self._errors() as exc:
            raise ArtifactError(f"cannot look up {uri}: {exc}") from exc
        if found and name is not None:
            self._known.add(name)
        return found

    # -- named files ----------------------------------------------------------------------
    def _named(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ArtifactError(f"named artifact key {key!r} must be a relative path")
        return self._path(f"named/{key}")

    def write_named(self, key: str, data: bytes) -> str:
        path = self._named(key)
        try:
            self.bucket.blob(path).upload_from_string(data)
        except self._errors() as exc:
            raise ArtifactError(f"cannot write {key!r} to {self.root}: {exc}") from exc
        return f"gs://{self.bucket_name}/{path}"

    def read_named(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        try:
            data: bytes = self.bucket.blob(self._named(key)).download_as_bytes()
        except NotFound:
            raise ArtifactError(f"nothing stored under {key!r} in {self.root}") from None
        except self._errors() as exc:
            raise ArtifactError(f"cannot read {key!r} from {self.root}: {exc}") from exc
        return data
