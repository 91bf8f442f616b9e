"""The URI helpers give what pathlib and urllib give, for plain and awkward inputs alike."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from flowyml.storage.file_uris import file_uri, path_of_file_uri, uri_extension, uri_scheme

# Path-ish text: mostly the characters stores write, with the ones that need care mixed in.
awkward = st.lists(
    st.sampled_from([*"ab/._-~09Zé %?#;:@[]\\\t\n +", "//", "/./", "/.."]), max_size=20
).map("".join)


@given(awkward)
@example("/")
@example("/tmp/store/objects/ab/abcdef.json")
@example("/a/b/")
@example("/a//b")
@example("/a/./b")
@example("/a/.")
@example("//a")
@example("/a b/c%20d")
def test_file_uri_is_as_uri(tail: str) -> None:
    path = "/" + tail
    assert file_uri(path) == Path(path).as_uri()


def test_file_uri_refuses_a_relative_path_as_as_uri_does() -> None:
    with pytest.raises(ValueError):
        file_uri("relative/path")


@given(awkward)
@example("//tmp/store/objects/ab/abcdef.json")
@example("//tmp/a%20b")
@example("//tmp/a?b#c")
@example("////a")
def test_path_of_file_uri_is_unquote_of_urlparse(tail: str) -> None:
    uri = "file:" + tail
    try:
        parsed = urlparse(uri)
    except ValueError:  # "Invalid IPv6 URL": a URI no store writes or reads
        assume(False)
    assert path_of_file_uri(uri) == (parsed.scheme, unquote(parsed.path))


@given(st.text(alphabet=st.sampled_from(list("aZ09+-.:/ %\t\né_")), max_size=16), awkward)
@example("gs", "//bucket/objects/ab/x.json")
@example("FILE", "///a")
@example(" gs", "//b/x")
@example("", "/plain/path.npy")
@example("1x", "//b")
def test_uri_scheme_and_extension_are_urlparses(head: str, tail: str) -> None:
    uri = head + tail
    try:
        urlparse(uri)
    except ValueError:  # "Invalid IPv6 URL": a URI no store writes or reads
        assume(False)
    assert uri_scheme(uri) == urlparse(uri).scheme
    assert uri_extension(uri) == os.path.splitext(urlparse(uri).path)[1]


def _root_of_by_pathlib(path: str) -> str:
    whole = Path(path)
    if len(whole.parents) >= 3 and whole.parents[1].name == "objects":
        return whole.parents[2].as_uri()
    return whole.as_uri()


@given(
    st.lists(st.sampled_from(["objects", "ab", "x.json", "..", ".", "", "a b", "%41"]), max_size=6)
)
@example(["store", "objects", "ab", "abcd.json"])
@example(["objects", "ab", "x.json"])
def test_a_local_stores_root_is_what_pathlib_makes_of_it(segments: list[str]) -> None:
    from flowyml.storage.artifact_store import LocalArtifactStore

    path = "/" + "/".join(segments)
    assert LocalArtifactStore.root_of(path) == _root_of_by_pathlib(path)
    assert LocalArtifactStore.root_of(Path(path).as_uri()) == _root_of_by_pathlib(path)
