"""stable_hash must never change: cache keys and fingerprints stored by earlier versions
are compared with the keys this version computes."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from flowyml.definition.fingerprint import stable_hash


def _documented(*parts: str | bytes) -> str:
    """SHA-256 over each part's length (8 bytes, little-endian) followed by the part."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


@given(st.lists(st.one_of(st.text(), st.binary()), max_size=8))
def test_stable_hash_is_the_length_prefixed_sha256_of_its_parts(parts):
    assert stable_hash(*parts) == _documented(*parts)


def test_boundaries_between_parts_count():
    assert stable_hash("ab", "c") != stable_hash("a", "bc")
    assert stable_hash() == hashlib.sha256(b"").hexdigest()


_PARTS = st.text(max_size=5)


@given(
    st.text(max_size=5),
    st.dictionaries(_PARTS, st.integers(), max_size=2),
    st.lists(_PARTS, max_size=3),
    st.lists(_PARTS, max_size=3),
)
def test_a_remembered_cache_key_is_the_key_computed_afresh(version, params, outputs, inputs):
    from flowyml.storage import cache

    computed = cache.cache_key("fp", version, params, inputs, outputs)
    assert cache.cache_key("fp", version, params, inputs, outputs) == computed
    cache._keys.clear()
    assert cache.cache_key("fp", version, params, inputs, outputs) == computed
    assert cache.output_fingerprint(computed, "out") == stable_hash(computed, "out")


def test_outputs_and_inputs_stay_apart_in_remembered_keys():
    from flowyml.storage.cache import cache_key

    assert cache_key("fp", "1", {}, [], ["a", "b"]) != cache_key("fp", "1", {}, ["b"], ["a"])
    assert cache_key("fp", "1", {}, ["x"], ["a"]) != cache_key("fp", "1", {}, [], ["a", "x"])
