"""The ``s3://`` artifact store: artifacts, tasks and result manifests in Amazon S3.

The layout, hashing and errors are the core's bucket store
(:class:`~flowyml.backend.BucketArtifactStore`); here is how S3 is reached. S3 makes
an object visible only once its ``PutObject`` or ``CompleteMultipartUpload`` succeeded,
so a reader never sees half an artifact; objects from ``multipart_threshold`` bytes on go
up in parts (boto3's transfer manager), several at a time.

Where S3 is comes from the constructor (the ``sagemaker`` backend passes its client) or,
for stores opened by URI (the step runner in a job, ``run.outputs`` elsewhere), from
botocore's own configuration: region, credentials, and ``AWS_ENDPOINT_URL_S3`` for an
endpoint other than AWS's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import IO, Any

from flowyml.backend import ArtifactError, BucketArtifactStore, Materializer, split_bucket_uri

__all__ = ["S3ArtifactStore", "split_uri"]

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/path`` -> ``("bucket", "path")``.

    Raises:
        ArtifactError: ``uri`` is not an ``s3://`` URI with a bucket.
    """
    return split_bucket_uri(uri, "s3")


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3ArtifactStore(BucketArtifactStore):
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
        self.bucket = self.bucket_name
        self.multipart_threshold = multipart_threshold
        self._client = client
        self._lock = threading.Lock()

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

    def client_errors(self) -> tuple[type[BaseException], ...]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        return (ClientError, BotoCoreError, Boto3Error, OSError)

    def failure(self, what: str, exc: BaseException) -> ArtifactError:
        if _code(exc) == "NoSuchBucket":
            return ArtifactError(f"cannot {what}: bucket s3://{self.bucket} does not exist")
        if _code(exc) in ("AccessDenied", "403"):
            return ArtifactError(
                f"cannot {what}: access to s3://{self.bucket} denied; check that the "
                "credentials (or the job's role) may read and write it"
            )
        return ArtifactError(f"cannot {what}: {exc}")

    def put_object(self, key: str, body: IO[bytes], size: int) -> None:
        if size < self.multipart_threshold:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body.read())
            return
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=max(8 * 1024 * 1024, self.multipart_threshold // 4),
        )
        self.client.upload_fileobj(body, self.bucket, key, Config=config)

    def get_object(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client_errors() as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        data: bytes = answer["Body"].read()
        return data

    def has_object(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client_errors() as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True
