"""The bucket store base: layout, content addressing and errors, over an in-memory bucket."""

from __future__ import annotations

from typing import IO

import pytest

from flowyml import ArtifactError
from flowyml.backend import BucketArtifactStore


class MemoryStore(BucketArtifactStore):
    scheme = "mem"

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []

    def put_object(self, key: str, body: IO[bytes], size: int) -> None:
        data = body.read()
        assert len(data) == size
        self.objects[key] = data
        self.puts.append(key)

    def get_object(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def has_object(self, key: str) -> bool:
        return key in self.objects

    def client_errors(self) -> tuple[type[BaseException], ...]:
        return (ConnectionError,)


def test_values_round_trip_under_the_layout_and_are_uploaded_once():
    store = MemoryStore("mem://bucket/prefix/")
    first = store.save({"a": 1})
    second = MemoryStore("mem://bucket/prefix").save({"a": 1})
    assert first.uri == second.uri and first.uri.startswith("mem://bucket/prefix/objects/")
    again = store.save({"a": 1})
    assert again.uri == first.uri and len(store.puts) == 1  # content-addressed, known
    assert store.load(first.uri) == {"a": 1}
    assert store.root_of(first.uri) == "mem://bucket/prefix"
    assert (
        store.write_named("runs/r/task.json", b"{}") == "mem://bucket/prefix/named/runs/r/task.json"
    )
    assert store.read_named("runs/r/task.json") == b"{}"


def test_missing_objects_foreign_buckets_and_bad_keys_are_clear_errors():
    store = MemoryStore("mem://bucket")
    with pytest.raises(ArtifactError, match="artifact mem://bucket/objects/ab/abc.json does not"):
        store.open("mem://bucket/objects/ab/abc.json")
    with pytest.raises(ArtifactError, match="is not in this store's bucket mem://bucket"):
        store.open("mem://other/objects/x")
    with pytest.raises(ArtifactError, match="must be a relative path"):
        store.write_named("../escape", b"")
    with pytest.raises(ArtifactError, match="nothing stored under 'nope'"):
        store.read_named("nope")
    assert not store.exists("mem://bucket/objects/ab/abc.json")


def test_a_client_error_becomes_an_artifact_error_naming_what_failed():
    class Down(MemoryStore):
        def has_object(self, key: str) -> bool:
            raise ConnectionError("connection refused")

    with pytest.raises(ArtifactError, match=r"cannot write mem://bucket/objects/.*refused"):
        Down("mem://bucket").save([1, 2])
