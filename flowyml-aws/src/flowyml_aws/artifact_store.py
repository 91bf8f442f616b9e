"""The ``s3://`` artifact store: artifacts, tasks and result manifests in Amazon S3.

Same layout as the core's ``file://`` store: ``ROOT/objects/<2 hex>/<sha256><ext>`` for
artifacts (content-addressed) and ``ROOT/named/<key>`` for tasks and manifests. S3 makes
an object visible only once its ``PutObject`` or ``CompleteMultipartUpload`` succeeded,
so a reader never sees half an artifact; objects from ``multipart_threshold`` bytes on go
up in parts (boto3's transfer manager), several at a time.

Where S3 is comes from the constructor (the ``sagemaker`` backend passes its client) or,
for stores opened by URI (the step runner in a job, ``run.outputs`` elsewhere), from
botocore's own configuration: region, credentials, and ``AWS_ENDPOINT_URL_S3`` for an
endpoint other than AWS's.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
from collections.abc import Iterable, Sequence
from typing import IO, Any

from flowyml.backend import ArtifactError, ArtifactRef, ArtifactStore, Materializer

__all__ = ["S3ArtifactStore", "split_uri"]

_SPOOL_LIMIT = 32 * 1024 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/path`` -> ``("bucket", "path")``.

    Raises:
        ArtifactError: ``uri`` is not an ``s3://`` URI with a bucket.
    """
    if not uri.startswith("s3://"):
        raise ArtifactError(f"{uri} is not an s3:// URI")
    bucket, _, path = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ArtifactError(f"{uri} names no bucket")
    return bucket, path


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3ArtifactStore(ArtifactStore):
    """Artifacts in an S3 bucket (``s3://bucket/prefix`` roots).

    Args:
        root: ``s3://bucket[/prefix]``.
        materializers: the materializers (default: the built-in ones).
        client: a ready boto3 ``s3`` client (default: one from botocore's configuration,
            with standard retries).
        multipart_threshold: objects of this many bytes or more are uploaded in parts.
    """

    scheme = "s3"

    def __init__(
        self,
        root: str,
        materializers: Sequence[Materializer] | None = None,
        *,
        client: Any = None,
        multipart_threshold: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__(root, materializers)
        self.bucket, self.prefix = split_uri(self.root)
        self.prefix = self.prefix.strip("/")
        self.multipart_threshold = multipart_threshold
        self._client = client
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
    def client(self) -> Any:
        """The boto3 ``s3`` client (built on first use)."""
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client(
                    "s3", config=Config(retries={"mode": "standard", "total_max_attempts": 8})
                )
            return self._client

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _key_of(self, uri: str) -> str:
        bucket, key = split_uri(uri)
        if bucket != self.bucket:
            raise ArtifactError(f"{uri} is not in this store's bucket s3://{self.bucket}")
        return key

    @staticmethod
    def _errors() -> tuple[type[BaseException], ...]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        return (ClientError, BotoCoreError, Boto3Error, OSError)

    def _failure(self, what: str, exc: BaseException) -> ArtifactError:
        if _code(exc) == "NoSuchBucket":
            return ArtifactError(f"cannot {what}: bucket s3://{self.bucket} does not exist")
        if _code(exc) in ("AccessDenied", "403"):
            return ArtifactError(
                f"cannot {what}: access to s3://{self.bucket} denied; check that the "
                "credentials (or the job's role) may read and write it"
            )
        return ArtifactError(f"cannot {what}: {exc}")

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self._errors() as exc:
            if _code(exc) in _MISSING:
                return False
            raise self._failure(f"look up s3://{self.bucket}/{key}", exc) from exc
        return True

    def _upload(self, key: str, body: IO[bytes]) -> None:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=max(8 * 1024 * 1024, self.multipart_threshold // 4),
        )
        self.client.upload_fileobj(body, self.bucket, key, Config=config)

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
                key = self._key(name)
                try:
                    # Content-addressed: an existing object already holds these bytes.
                    if not self._exists(key):
                        spool.seek(0)
                        self._upload(key, spool)
                except self._errors() as exc:
                    raise self._failure(f"write {uri}", exc) from exc
                self._known.add(name)
        return ArtifactRef(uri, hexdigest, size, self)

    def open(self, uri: str) -> IO[bytes]:
        key = self._key_of(uri)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            return io.BytesIO(body.read())
        except self._errors() as exc:
            if _code(exc) in _MISSING:
                raise ArtifactError(f"artifact {uri} does not exist") from None
            raise self._failure(f"read artifact {uri}", exc) from exc

    def exists(self, uri: str) -> bool:
        name = uri[len(self.root) + 1 :] if uri.startswith(self.root + "/") else None
        if name is not None and name in self._known:
            return True
        found = self._exists(self._key_of(uri))
        if found and name is not None:
            self._known.add(name)
        return found

    # -- named files ----------------------------------------------------------------------
    def _named(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ArtifactError(f"named artifact key {key!r} must be a relative path")
        return self._key(f"named/{key}")

    def write_named(self, key: str, data: bytes) -> str:
        path = self._named(key)
        try:
            if len(data) >= self.multipart_threshold:
                self._upload(path, io.BytesIO(data))
            else:
                self.client.put_object(Bucket=self.bucket, Key=path, Body=data)
        except self._errors() as exc:
            raise self._failure(f"write {key!r} to {self.root}", exc) from exc
        return f"s3://{self.bucket}/{path}"

    def read_named(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._named(key))
            data: bytes = answer["Body"].read()
        except self._errors() as exc:
            if _code(exc) in _MISSING:
                raise ArtifactError(f"nothing stored under {key!r} in {self.root}") from None
            raise self._failure(f"read {key!r} from {self.root}", exc) from exc
        return data
