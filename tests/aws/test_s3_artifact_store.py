"""The s3:// artifact store against moto's S3 with the real boto3."""

from __future__ import annotations

from typing import Any

import pytest

from flowyml.backend import ArtifactError
from flowyml_aws.artifact_store import S3ArtifactStore


@pytest.fixture
def store(s3_client: Any, s3_bucket: str) -> S3ArtifactStore:
    return S3ArtifactStore(f"s3://{s3_bucket}/flowyml", client=s3_client)


def test_value_round_trips_content_addressed(store: S3ArtifactStore) -> None:
    first = store.save({"a": [1, 2, 3]})
    second = store.save({"a": [1, 2, 3]})

    assert first.uri == second.uri
    assert first.uri.startswith(f"{store.root}/objects/")
    assert store.load(first.uri) == {"a": [1, 2, 3]}
    assert store.exists(first.uri)


def test_named_files_round_trip(store: S3ArtifactStore) -> None:
    uri = store.write_named("runs/r1/manifest.json", b'{"ok": true}')

    assert uri.endswith("/flowyml/named/runs/r1/manifest.json")
    assert store.read_named("runs/r1/manifest.json") == b'{"ok": true}'


def test_large_object_goes_up_in_parts_and_appears_whole(s3_client: Any, s3_bucket: str) -> None:
    store = S3ArtifactStore(f"s3://{s3_bucket}", client=s3_client, multipart_threshold=5 << 20)
    data = bytes(range(256)) * (80 * 1024)  # 20 MiB: parts of 8 MiB

    ref = store.write_object(
        [data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)], ".bin"
    )

    key = ref.uri.split(f"s3://{s3_bucket}/", 1)[1]
    head = s3_client.head_object(Bucket=s3_bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag
    assert head["ContentLength"] == len(data)
    assert store.open(ref.uri).read() == data
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_missing_artifact_and_missing_bucket_are_named(s3_client: Any, s3_bucket: str) -> None:
    store = S3ArtifactStore("s3://no-such-bucket-flowyml", client=s3_client)

    with pytest.raises(ArtifactError, match="no-such-bucket-flowyml does not exist"):
        store.write_named("k", b"v")
    with pytest.raises(ArtifactError, match="nothing stored under 'k'"):
        S3ArtifactStore(f"s3://{s3_bucket}", client=s3_client).read_named("k")


def test_store_opened_by_uri_finds_s3_through_botocore_configuration(
    aws_env: dict[str, str], s3_client: Any, s3_bucket: str
) -> None:
    from flowyml.backend import artifact_store_for

    S3ArtifactStore(f"s3://{s3_bucket}", client=s3_client).write_named("k", b"v")

    found = artifact_store_for(f"s3://{s3_bucket}/named/k")

    assert isinstance(found, S3ArtifactStore)
    assert found.read_named("k") == b"v"
