"""What the step panel previews of an artifact, and what it never loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flowyml.backend import ArtifactRef, open_project
from flowyml_ui.preview import MAX_PREVIEW_BYTES, preview_artifact


@pytest.fixture
def stored(project: Path) -> Any:
    """Store a value in the test project's artifact store; returns its record entry."""
    store = open_project(project).artifact_store()

    def put(value: Any) -> dict[str, Any]:
        ref = store.save(value, "out")
        store.flush()
        return ref.to_dict()

    return put


def test_json_values_are_shown_as_indented_json(stored: Any) -> None:
    preview = preview_artifact(stored({"loss": 0.25, "labels": ["<a>", "b"]}))
    assert preview["kind"] == "json"
    assert '"loss": 0.25' in preview["text"] and '"<a>"' in preview["text"]


def test_a_small_array_is_a_table_with_its_shape(stored: Any) -> None:
    preview = preview_artifact(stored(np.arange(6).reshape(2, 3)))
    assert preview["kind"] == "table"
    assert preview["shape"] == [2, 3]
    assert preview["rows"] == [["0", "1", "2"], ["3", "4", "5"]]


def test_a_large_array_shows_its_first_rows_only(stored: Any) -> None:
    preview = preview_artifact(stored(np.zeros((500, 3))))
    assert preview["shape"] == [500, 3]
    assert len(preview["rows"]) == 50


class Tripwire:
    """Notes every time a pickle of it is loaded."""

    loaded = 0

    def __init__(self) -> None:
        self.armed = True

    def __setstate__(self, state: dict[str, Any]) -> None:
        Tripwire.loaded += 1


def test_a_pickle_is_never_loaded(stored: Any) -> None:
    ref = stored(Tripwire())
    assert ref["uri"].endswith(".pkl")
    preview = preview_artifact(ref)
    assert preview["kind"] == "none"
    assert "pickle" in preview["reason"]
    assert Tripwire.loaded == 0
    ArtifactRef.from_dict(ref).load()  # what a preview would have done
    assert Tripwire.loaded == 1


def test_an_artifact_over_the_limit_is_described_not_read(stored: Any) -> None:
    ref = {**stored([1, 2, 3]), "size": MAX_PREVIEW_BYTES + 1}
    assert preview_artifact(ref)["reason"] == "too large to preview"


def test_a_missing_artifact_says_it_cannot_be_read(stored: Any) -> None:
    ref = stored([1])
    preview = preview_artifact({**ref, "uri": ref["uri"].replace(ref["uri"][-20:-5], "0" * 15)})
    assert preview["kind"] == "none"
    assert preview["reason"].startswith("cannot be read")


def test_a_data_frame_is_a_table_with_its_columns(stored: Any) -> None:
    import pandas as pd  # the ui session installs pandas and pyarrow

    frame = pd.DataFrame({"name": ["<b>x</b>", "y"], "score": [0.5, 1.25]})
    ref = stored(frame)
    assert ref["uri"].endswith(".parquet")
    preview = preview_artifact(ref)
    assert preview["kind"] == "table"
    assert preview["shape"] == [2, 2]
    assert preview["columns"] == ["name", "score"]
    assert preview["rows"] == [["<b>x</b>", "0.5"], ["y", "1.25"]]
