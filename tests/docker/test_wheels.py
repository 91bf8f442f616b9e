"""Wheels of the flowyml distributions for an image (flowyml_docker/wheels.py): built with
the host's own build backend when it has the one the source asks for, so an image build
downloads nothing for them; isolated otherwise."""

from __future__ import annotations

import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from flowyml_docker import wheels


def _project(root: Path, requires: str, *, module: str = "tiny") -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        "[build-system]\n"
        f"requires = {requires}\n"
        'build-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{module}"\nversion = "1.2.3"\n\n'
        f'[tool.setuptools]\npy-modules = ["{module}"]\n'
    )
    (root / f"{module}.py").write_text("VALUE = 42\n")
    return root


@pytest.mark.parametrize(
    ("requires", "met"),
    [
        ('["packaging>=1"]', True),
        ('["packaging>=1", "missing-dist-of-no-one>=1"]', False),
        ('["packaging>=999"]', False),
        ('["packaging>=1", "missing-dist-of-no-one; python_version < \'3\'"]', True),
        ('["not a requirement ((("]', False),
        ("[]", False),
    ],
)
def test_build_requirements_are_read_from_the_source(
    tmp_path: Path, requires: str, met: bool
) -> None:
    source = _project(tmp_path / "p", requires)
    assert wheels.build_requirements_met(source) is met


def test_a_folder_without_pyproject_has_no_build_requirements_met(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    assert wheels.build_requirements_met(tmp_path) is False


def test_a_wheel_is_built_with_the_host_backend_without_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        setuptools_version = metadata.version("setuptools")
        metadata.version("wheel") if int(setuptools_version.split(".")[0]) < 70 else None
    except metadata.PackageNotFoundError:
        pytest.skip("this environment has no setuptools (with bdist_wheel) to build with")
    source = _project(tmp_path / "src", f'["setuptools=={setuptools_version}"]')
    # No index can be reached: an isolated build would have to download setuptools.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    out = tmp_path / "out"
    out.mkdir()

    wheels._build_wheel(source, out, "tiny")

    (built,) = out.glob("*.whl")
    assert built.name.startswith("tiny-1.2.3-")
    with zipfile.ZipFile(built) as archive:
        assert archive.read("tiny.py") == b"VALUE = 42\n"
    assert not (source / "build").exists()  # the user's tree is left as it was


def test_a_backend_the_host_lacks_is_still_built_isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source whose backend is not on the host goes to pip's isolated build (which, with
    no index, fails naming the distribution: proof it did not take the host path)."""
    source = _project(tmp_path / "src", '["setuptools>=68", "missing-dist-of-no-one>=1"]')
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    calls: list[list[str]] = []
    real_pip = wheels._pip

    def recording_pip(args: list[str], what: str) -> None:
        calls.append(args)
        real_pip(args, what)

    monkeypatch.setattr(wheels, "_pip", recording_pip)
    with pytest.raises(wheels.BackendError, match="pip wheel failed for tiny"):
        wheels._build_wheel(source, tmp_path, "tiny")
    assert calls and all("--no-build-isolation" not in args for args in calls)
