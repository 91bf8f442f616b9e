"""Artifact stores in an object-store bucket (``gs://``, ``s3://``...), written once.

Every such store has the layout of the core's ``file://`` store under
``scheme://bucket[/prefix]``: ``objects/<2 hex>/<sha256><ext>`` for artifacts, content-
addressed (an object that exists already holds these bytes, so it is never uploaded
twice), and ``named/<key>`` for tasks and result manifests. Object stores make an object
visible only once its upload completed, so a reader never sees half an artifact. A plugin
supplies four primitives (put, get, has, and the errors of its client); the layout, the
hashing, the spooling of large values and the error messages are here.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import IO, ClassVar

from flowyml.errors import ArtifactError
from flowyml.records.artifact_ref import ArtifactRef
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.materializers import Materializer

__all__ = ["BucketArtifactStore", "split_bucket_uri"]

# Values up to this size are hashed and uploaded from memory; larger ones from a file.
_SPOOL_LIMIT = 32 * 1024 * 1024


def split_bucket_uri(uri: str, scheme: str) -> tuple[str, str]:
    """``scheme://bucket/path`` -> ``("bucket", "path")``.

    Raises:
        ArtifactError: ``uri`` is not a ``scheme://`` URI with a bucket.
    """
    prefix = f"{scheme}://"
    if not uri.startswith(prefix):
        raise ArtifactError(f"{uri} is not a {prefix} URI")
    bucket, _, path = uri[len(prefix) :].partition("/")
    if not bucket:
        raise ArtifactError(f"{uri} names no bucket")
    return bucket, path


class BucketArtifactStore(ArtifactStore):
    """An artifact store in a bucket; subclasses talk to the service.

    Args:
        root: ``scheme://bucket[/prefix]``.
        materializers: the materializers (default: the built-in ones).
    """

    scheme: ClassVar[str]

    def __init__(self, root: str, materializers: Sequence[Materializer] | None = None) -> None:
        super().__init__(root, materializers)
        self.bucket_name, prefix = split_bucket_uri(self.root, self.scheme)
        self.prefix = prefix.strip("/")
        self._known: set[str] = set()  # objects known to exist: never looked up again

    @classmethod
    def root_of(cls, uri: str) -> str:
        for marker in ("/objects/", "/named/"):
            if marker in uri:
                return uri.split(marker, 1)[0]
        return uri.rstrip("/")

    # -- what a subclass supplies ---------------------------------------------------------
    @abstractmethod
    def put_object(self, key: str, body: IO[bytes], size: int) -> None:
        """Upload ``size`` bytes from ``body`` as object ``key`` of the bucket."""

    @abstractmethod
    def get_object(self, key: str) -> bytes | None:
        """The bytes of object ``key``, or ``None`` when there is none."""

    @abstractmethod
    def has_object(self, key: str) -> bool:
        """Whether object ``key`` exists."""

    @abstractmethod
    def client_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions the service's client raises (turned into ``ArtifactError``)."""

    def failure(self, what: str, exc: BaseException) -> ArtifactError:
        """The error for a failed ``what`` (override to name the cause: no bucket, no
        access...)."""
        return ArtifactError(f"cannot {what}: {exc}")

    # -- keys -----------------------------------------------------------------------------
    def key(self, relative: str) -> str:
        """The object key of a path relative to the store's root."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def key_of(self, uri: str) -> str:
        """The object key of a URI of this store's bucket."""
        bucket, key = split_bucket_uri(uri, self.scheme)
        if bucket != self.bucket_name:
            raise ArtifactError(
                f"{uri} is not in this store's bucket {self.scheme}://{self.bucket_name}"
            )
        return key

    def _named(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ArtifactError(f"named artifact key {key!r} must be a relative path")
        return self.key(f"named/{key}")

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
                key = self.key(name)
                try:
                    # Content-addressed: an existing object already holds these bytes.
                    if not self.has_object(key):
                        spool.seek(0)
                        self.put_object(key, spool, size)
                except self.client_errors() as exc:
                    raise self.failure(f"write {uri}", exc) from exc
                self._known.add(name)
        return ArtifactRef(uri, hexdigest, size, self)

    def open(self, uri: str) -> IO[bytes]:
        try:
            data = self.get_object(self.key_of(uri))
        except self.client_errors() as exc:
            raise self.failure(f"read artifact {uri}", exc) from exc
        if data is None:
            raise ArtifactError(f"artifact {uri} does not exist")
        return io.BytesIO(data)

    def exists(self, uri: str) -> bool:
        name = uri[len(self.root) + 1 :] if uri.startswith(self.root + "/") else None
        if name is not None and name in self._known:
            return True
        try:
            found = self.has_object(self.key_of(uri))
        except self.client_errors() as exc:
            raise self.failure(f"look up {uri}", exc) from exc
        if found and name is not None:
            self._known.add(name)
        return found

    # -- named files ----------------------------------------------------------------------
    def write_named(self, key: str, data: bytes) -> str:
        path = self._named(key)
        try:
            self.put_object(path, io.BytesIO(data), len(data))
        except self.client_errors() as exc:
            raise self.failure(f"write {key!r} to {self.root}", exc) from exc
        return f"{self.scheme}://{self.bucket_name}/{path}"

    def read_named(self, key: str) -> bytes:
        try:
            data = self.get_object(self._named(key))
        except self.client_errors() as exc:
            raise self.failure(f"read {key!r} from {self.root}", exc) from exc
        if data is None:
            raise ArtifactError(f"nothing stored under {key!r} in {self.root}")
        return data
