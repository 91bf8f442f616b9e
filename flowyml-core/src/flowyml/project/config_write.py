"""Writing per-step resources into the project's ``flowyml.yaml`` (``rightsize --write``).

Only the top-level ``pipelines:`` block is rewritten: every other line of the file, its
comments included, is kept byte for byte. Comments *inside* ``pipelines:`` and its flow
style (``{cpu: 1}``) are lost, since PyYAML does not keep them. When the edited text would
not read back as intended (an unusual layout), the whole file is written from its data
and :attr:`WrittenConfig.comments_kept` says so.

The file is replaced atomically (a temporary file in the same folder, then a rename), and
nothing is written when the configuration is invalid before or after the change.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowyml.errors import ConfigError
from flowyml.project.config import (
    CONFIG_FILE,
    ProjectConfig,
    format_validation_error,
    load_config,
)
from flowyml.records.resources import ResourceConfig

__all__ = ["WrittenConfig", "write_step_resources"]

_TOP_KEY = re.compile(r"^pipelines\s*:")


@dataclass(frozen=True)
class WrittenConfig:
    """Where the resources were written.

    Attributes:
        path: the configuration file.
        created: the file did not exist before.
        comments_kept: every line outside ``pipelines:`` is as it was.
    """

    path: Path
    created: bool
    comments_kept: bool


def write_step_resources(
    root: Path, pipeline: str, resources: Mapping[str, ResourceConfig]
) -> WrittenConfig:
    """Set ``pipelines.<pipeline>.steps.<step>.resources`` for each step of ``resources``.

    The fields given replace those already written for the step; the others stay.

    Args:
        root: the project's folder.
        pipeline: the pipeline's name.
        resources: step name -> the resources to write (its set fields only).

    Raises:
        ConfigError: the configuration is invalid (nothing is written), lives in
            ``pyproject.toml``, or the file cannot be written.
    """
    import yaml

    path = _config_path(root)
    try:
        load_config(root)
    except ConfigError as exc:
        raise ConfigError(f"not writing {path}: fix the configuration first: {exc}") from None
    created = not path.is_file()
    text = "" if created else path.read_text(encoding="utf-8")
    data: dict[str, Any] = (yaml.safe_load(text) or {}) if text else {}
    pipelines = data.setdefault("pipelines", {}) or {}
    data["pipelines"] = pipelines
    entry = pipelines.setdefault(pipeline, {}) or {}
    pipelines[pipeline] = entry
    steps = entry.setdefault("steps", {}) or {}
    entry["steps"] = steps
    for step, wanted in resources.items():
        settings = steps.setdefault(step, {}) or {}
        steps[step] = settings
        settings["resources"] = {**(settings.get("resources") or {}), **_fields(wanted)}
    try:
        ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"not writing {path}: " + format_validation_error(exc, str(path))
        ) from None
    edited = _with_block(text, yaml.safe_dump({"pipelines": pipelines}, sort_keys=False))
    kept = yaml.safe_load(edited) == data
    if not kept:
        edited = yaml.safe_dump(data, sort_keys=False)
    _replace(path, edited)
    return WrittenConfig(path, created, kept or created)


def _config_path(root: Path) -> Path:
    explicit = os.environ.get("FLOWYML_CONFIG")
    if explicit:
        return Path(explicit)
    path = root / CONFIG_FILE
    if not path.is_file() and (root / "pyproject.toml").is_file():
        import tomllib

        try:
            pyproject = tomllib.loads((root / "pyproject.toml").read_text())
        except tomllib.TOMLDecodeError:
            pyproject = {}  # not ours to judge here: load_config names the problem
        if "flowyml" in pyproject.get("tool", {}):
            raise ConfigError(
                f"the configuration is in {root / 'pyproject.toml'} [tool.flowyml], which "
                f"--write does not edit; move it to {path} or add the printed resources by hand"
            )
    return path


def _fields(resources: ResourceConfig) -> dict[str, Any]:
    values = resources.model_dump(exclude_defaults=True)
    cpu = values.get("cpu")
    if isinstance(cpu, float) and cpu.is_integer():
        values["cpu"] = int(cpu)
    return values


def _with_block(text: str, block: str) -> str:
    """``text`` with its top-level ``pipelines:`` block replaced by ``block`` (appended
    when there is none)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _TOP_KEY.match(line)), None)
    if start is None:
        separator = "" if not text or text.endswith("\n") else "\n"
        return text + separator + block
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t", "#") or not lines[end].strip()):
        end += 1
    # Comments and blank lines just before the next key belong to that key.
    while end > start + 1 and (lines[end - 1][:1] == "#" or not lines[end - 1].strip()):
        end -= 1
    return "".join([*lines[:start], block, *lines[end:]])


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping the file's permissions."""
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
