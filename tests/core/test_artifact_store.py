"""The content-addressed local artifact store and materializers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from flowyml import LocalArtifactStore, MaterializationError


@pytest.fixture
def store(tmp_path):
    return LocalArtifactStore(tmp_path / "artifacts")


def test_plain_data_is_json_and_round_trips(store):
    ref = store.save({"a": [1, 2.5, None, "x"]})
    assert ref.uri.endswith(".json")
    assert store.load(ref.uri) == {"a": [1, 2.5, None, "x"]}


def test_tuples_are_not_json_so_they_round_trip_exactly(store):
    ref = store.save((1, 2))
    assert ref.uri.endswith(".pkl") and store.load(ref.uri) == (1, 2)


def test_same_content_same_uri(store):
    assert store.save([1, 2, 3]).uri == store.save([1, 2, 3]).uri


def test_numpy_round_trip_without_pickle(store):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    ref = store.save(array)
    assert ref.uri.endswith(".npy")
    loaded = store.load(ref.uri)
    assert loaded.dtype == np.float32 and np.array_equal(loaded, array)


def test_fortran_ordered_arrays_round_trip(store):
    array = np.asfortranarray(np.arange(6).reshape(2, 3))
    assert np.array_equal(store.load(store.save(array).uri), array)


def test_unmaterializable_value_names_what_and_type(store):
    with pytest.raises(MaterializationError, match=r"output 'lock' of step 's'.*lock"):
        store.save(threading.Lock(), what="output 'lock' of step 's'")


def test_failed_write_leaves_no_partial_file(store):
    with pytest.raises(MaterializationError):
        store.save(threading.Lock())
    leftovers = list((store.path / "tmp").glob("*")) if (store.path / "tmp").exists() else []
    assert leftovers == []


def test_named_files_round_trip_and_refuse_escaping_keys(store):
    store.write_named("runs/r1/manifest.json", b"{}")
    assert store.read_named("runs/r1/manifest.json") == b"{}"
    with pytest.raises(Exception, match="relative path"):
        store.write_named("../escape", b"x")
