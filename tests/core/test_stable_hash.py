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
