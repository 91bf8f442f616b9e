"""Plugin discovery skips importlib.metadata only when a scan of sys.path proves no
distribution declares a ``flowyml`` entry point (flowyml/plugins/entry_point_scan.py);
whatever the scan cannot read answers "maybe"."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from flowyml.plugins.entry_point_scan import group_may_be_declared


def _dist(folder: Path, name: str, entry_points: str | None, suffix: str = ".dist-info") -> None:
    info = folder / f"{name}-1.0{suffix}"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Name: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A sys.path of two scanned folders (and one that does not exist)."""
    entries = [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "missing")]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.setattr(sys, "path", entries)
    return entries


def test_no_declaration_anywhere_is_proved(path: list[str]) -> None:
    _dist(Path(path[0]), "core", "[console_scripts]\nflowyml = flowyml.cli.main:main\n")
    _dist(Path(path[1]), "plain", None)
    _dist(Path(path[1]), "old", "[flowyml-other]\nx = y\n", suffix=".egg-info")
    assert group_may_be_declared("flowyml") is False


@pytest.mark.parametrize("suffix", [".dist-info", ".egg-info"])
def test_a_declaring_distribution_is_seen(path: list[str], suffix: str) -> None:
    _dist(Path(path[1]), "plugin", "[console_scripts]\na = b\n\n [ flowyml ] \nx = y:z\n", suffix)
    assert group_may_be_declared("flowyml") is True


def test_a_single_file_egg_info_declares_nothing(path: list[str]) -> None:
    (Path(path[0]) / "legacy-1.0.egg-info").write_text("Metadata-Version: 1.0\n")
    assert group_may_be_declared("flowyml") is False


def test_a_zip_on_the_path_is_not_scanned(path: list[str], tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("x-1.0.dist-info/entry_points.txt", "[other]\n")
    sys.path.append(str(archive))
    assert group_may_be_declared("flowyml") is True


def test_an_egg_on_the_path_is_not_scanned(path: list[str]) -> None:
    (Path(path[0]) / "thing-1.0-py3.11.egg").mkdir()
    assert group_may_be_declared("flowyml") is True


def test_another_finder_of_distributions_is_not_second_guessed(
    path: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Finder:
        def find_spec(self, *args: Any) -> None:
            return None

        def find_distributions(self, *args: Any) -> list[Any]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert group_may_be_declared("flowyml") is True


def test_the_answer_agrees_with_importlib_metadata_here() -> None:
    from importlib import metadata

    declared = bool(metadata.entry_points(group="flowyml"))
    assert group_may_be_declared("flowyml") or not declared
    assert group_may_be_declared("console_scripts")  # flowyml-core declares one
