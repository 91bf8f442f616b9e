"""Wheels for the image, prepared on the host so the image builds without a network.

Two kinds, both cached under ``~/.cache/flowyml/wheels`` (``FLOWYML_CACHE_DIR``
overrides ``~/.cache/flowyml``):

- the flowyml distributions themselves, built from their source folder for a development
  (editable or folder) install, keyed by version and a hash of the sources; or repacked
  from the installed files otherwise;
- their third-party dependencies, pinned to the versions installed on the host, plus the
  user's extra requirements, downloaded once for the image's Python and platform with
  ``pip download --only-binary=:all:``.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement

from flowyml.backend import BackendError

__all__ = [
    "Wheel",
    "build_requirements_met",
    "cache_dir",
    "dependency_wheels",
    "distribution_identity",
    "distribution_wheel",
    "pinned_dependencies",
]

_NOT_SOURCE = ("build", "dist", "*.egg-info", "__pycache__", ".git", ".nox", ".venv", "*.pyc")
_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Wheel:
    """A wheel file of a flowyml distribution.

    Attributes:
        name: the distribution name.
        version: its version.
        path: the wheel file.
        digest: SHA-256 of the wheel's sources (or installed files).
    """

    name: str
    version: str
    path: Path
    digest: str


def cache_dir() -> Path:
    """The wheel cache folder."""
    root = os.environ.get("FLOWYML_CACHE_DIR") or str(Path.home() / ".cache" / "flowyml")
    return Path(root) / "wheels"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _source_dir(dist: metadata.Distribution) -> Path | None:
    raw = dist.read_text("direct_url.json")
    if not raw:
        return None
    info = json.loads(raw)
    url = urlparse(info.get("url", ""))
    if url.scheme != "file" or "dir_info" not in info:
        return None
    path = Path(unquote(url.path))
    return path if (path / "pyproject.toml").is_file() or (path / "setup.py").is_file() else None


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in {"__pycache__", "build", "dist", ".git", ".nox", ".venv", ".mypy_cache"}
            and not d.endswith(".egg-info")
        )
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(folder) / name
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def distribution_identity(name: str) -> tuple[str, str]:
    """The version of the installed distribution ``name`` and the digest of its sources
    (or installed files): what names its wheel, found without building it.

    Raises:
        BackendError: it is not installed.
    """
    dist = _installed(name)
    source = _source_dir(dist)
    return dist.version, _tree_digest(source) if source else _installed_digest(dist)


def _installed(name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise BackendError(
            f"distribution '{name}' is not installed on the host, so it cannot be put in the image"
        ) from None


def distribution_wheel(name: str) -> Wheel:
    """A wheel of the installed distribution ``name`` (built or repacked once, cached).

    Raises:
        BackendError: it is not installed, or its wheel cannot be built.
    """
    dist = _installed(name)
    source = _source_dir(dist)
    version, digest = distribution_identity(name)
    folder = cache_dir() / "flowyml" / f"{_normalise(name)}-{version}-{digest[:16]}"
    found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if not found:
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_ensure(folder.parent)))
        try:
            if source is not None:
                _build_wheel(source, tmp, name)
            else:
                _repack(dist, tmp)
            try:
                tmp.rename(folder)
            except OSError:  # another process cached the same wheel first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        found = sorted(folder.glob("*.whl"))
    if not found:
        raise BackendError(f"building a wheel of '{name}' produced no file in {folder}")
    return Wheel(name, version, found[0], digest)


def _build_wheel(source: Path, out_dir: Path, name: str) -> None:
    """``pip wheel`` a copy of ``source``, so no build folder is left in the user's tree.

    When this environment already has the build backend the source asks for, the wheel is
    built with it: no isolated environment is made and nothing is downloaded, so the build
    takes a fraction of the time and works offline. If that build fails (the backend wants
    something it did not declare), it is built again the usual way, isolated.
    """
    with tempfile.TemporaryDirectory(prefix="flowyml-src-") as scratch:
        copy = Path(scratch) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
        args = ["wheel", "--no-deps", "--quiet", "-w", str(out_dir), str(copy)]
        if build_requirements_met(copy):
            try:
                _pip([*args, "--no-build-isolation"], name)
                return
            except BackendError:
                for stale in out_dir.glob("*.whl"):
                    stale.unlink()
        _pip(args, name)


def build_requirements_met(source: Path) -> bool:
    """Whether this environment has every distribution ``source``'s pyproject.toml lists in
    ``build-system.requires``, at a version it allows (False when it lists none)."""
    try:
        pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
        requires = pyproject["build-system"]["requires"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return False
    if not isinstance(requires, list) or not requires:
        return False
    try:
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            version = metadata.version(requirement.name)
            if not requirement.specifier.contains(version, prereleases=True):
                return False
    except (InvalidRequirement, metadata.PackageNotFoundError, TypeError):
        return False
    return True


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _installed_digest(dist: metadata.Distribution) -> str:
    digest = hashlib.sha256()
    for file in sorted(dist.files or [], key=str):
        path = Path(str(file.locate()))
        if path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        digest.update(str(file).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _repack(dist: metadata.Distribution, out_dir: Path) -> Path:
    """Zip an installed (non-editable) distribution's files back into a wheel."""
    name = _normalise(dist.metadata["Name"])
    target = out_dir / f"{name}-{dist.version}-py3-none-any.whl"
    records: list[tuple[str, str, str]] = []
    record_name = ""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            arcname = file.as_posix()
            if arcname.startswith("..") or "__pycache__" in arcname:
                continue  # console scripts live outside site-packages: pip recreates them
            if arcname.endswith(".dist-info/RECORD"):
                record_name = arcname
                continue
            path = Path(str(file.locate()))
            if not path.is_file() or path.suffix in (".pyc", ".pyo"):
                continue
            data = path.read_bytes()
            archive.writestr(arcname, data)
            hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append((arcname, f"sha256={hashed.decode()}", str(len(data))))
        if not record_name:
            raise BackendError(f"distribution '{name}' has no RECORD; reinstall it")
        buffer = io.StringIO()
        csv.writer(buffer).writerows([*records, (record_name, "", "")])
        archive.writestr(record_name, buffer.getvalue())
    return target


def pinned_dependencies(
    names: list[str], overrides: dict[str, tuple[str, ...]] | None = None
) -> list[str]:
    """``name==version`` of the third-party requirements of ``names``, as installed here.

    Requirements behind an extra are left out; one not installed on the host is passed
    unpinned. ``overrides`` replaces the declared requirements of some distributions.
    """
    own = {_normalise(n) for n in names}
    pins: dict[str, str] = {}
    overrides = {_normalise(k): v for k, v in (overrides or {}).items()}
    for name in names:
        declared = overrides.get(_normalise(name))
        requirements = list(declared) if declared is not None else metadata.requires(name)
        for requirement in requirements or []:
            if "extra ==" in requirement.replace('"', "").replace("'", ""):
                continue
            match = _NAME_RE.match(requirement)
            if match is None or _normalise(match.group(1)) in own:
                continue
            dep = match.group(1)
            try:
                pins[_normalise(dep)] = f"{dep}=={metadata.version(dep)}"
            except metadata.PackageNotFoundError:
                pins[_normalise(dep)] = requirement.split(";")[0].strip()
    return [pins[k] for k in sorted(pins)]


def dependency_wheels(requirements: list[str], python_version: str, platforms: list[str]) -> Path:
    """A folder holding wheels of ``requirements`` and their dependencies for the image.

    Downloaded on the first call for a given set of requirements, Python version and
    platforms, then reused.

    Raises:
        BackendError: a requirement has no wheel for that Python and platform, or the
            package index is unreachable.
    """
    key_data = json.dumps([sorted(requirements), python_version, sorted(platforms)])
    key = hashlib.sha256(key_data.encode()).hexdigest()[:16]
    folder = cache_dir() / "deps" / key
    if (folder / ".complete").is_file():
        return folder
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_ensure(folder.parent)))
    try:
        abi = "cp" + python_version.replace(".", "")
        args = ["download", "--quiet", "--only-binary=:all:", "--python-version", python_version]
        args += ["--implementation", "cp", "--abi", abi]
        for platform in platforms:
            args += ["--platform", platform]
        _pip([*args, "-d", str(tmp), *requirements], ", ".join(requirements))
        (tmp / ".complete").write_text(key_data)
        shutil.rmtree(folder, ignore_errors=True)
        # Another process may have filled the same folder first: then theirs is used.
        with contextlib.suppress(OSError):
            tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _pip(args: list[str], what: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if "is ignored" not in line]
        tail = "\n".join(lines[-15:])
        raise BackendError(f"pip {args[0]} failed for {what}:\n{tail}")
