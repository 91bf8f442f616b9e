"""Building (or reusing) the image that runs a pipeline's steps.

The image is the base image, plus a virtualenv at ``/opt/flowyml`` holding the flowyml
distributions and every requirement — installed with ``pip install --no-index`` from
wheels prepared on the host, so the build needs no network — plus the user's project
at the workdir, byte-compiled. Its tag is ``flowyml/<pipeline>:<hash>``, where the hash
covers the project's files, the requirements, the base image (name and id), the flowyml
distributions (versions and sources), env, build args, platform and any Dockerfile of
the user's: when an image with that tag exists, nothing is built.

A Dockerfile of the user's (``DockerConfig.dockerfile``, relative to the project folder)
is built first, with the project folder as its context; it then serves as the base.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyml.backend import BackendError, ConfigError, DockerConfig
from flowyml_docker.engine import engine_errors
from flowyml_docker.project_source import ProjectSource
from flowyml_docker.wheels import (
    Wheel,
    dependency_wheels,
    distribution_identity,
    distribution_wheel,
    pinned_dependencies,
)

__all__ = [
    "BuildOptions",
    "ImageIdentity",
    "ImageResult",
    "ensure_image",
    "existing_image",
    "image_identity",
    "require_image",
]

# Bump when the generated Dockerfile changes, so images built by older code are not reused.
GENERATOR_VERSION = 3
VENV = "/opt/flowyml"
# glibc-based x86-64 images (Debian bookworm has glibc 2.36): any of these wheels installs.
DEFAULT_WHEEL_PLATFORMS = (
    "manylinux2014_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_34_x86_64",
)
_WHEELS_IN_IMAGE = "/tmp/flowyml-wheels"


@dataclass(frozen=True)
class BuildOptions:
    """How images are built.

    Attributes:
        base_image: the image to build on.
        distributions: the flowyml distributions installed in the image.
        python_version: the base image's Python (``"3.11"``), for the dependency wheels.
        platforms: wheel platform tags acceptable in the image.
        network_mode: network of the build's ``RUN`` steps (``"none"`` needs no network).
        pull_base_image: pull a base image that is not on the engine.
        runtime_requirements: (distribution, requirements) pairs replacing what a
            distribution declares, for those that need less inside a step container than
            on the submitting machine (``flowyml-gcp`` needs only Cloud Storage there).
    """

    base_image: str
    distributions: tuple[str, ...] = ("flowyml-core",)
    python_version: str = "3.11"
    platforms: tuple[str, ...] = DEFAULT_WHEEL_PLATFORMS
    network_mode: str = "none"
    pull_base_image: bool = False
    runtime_requirements: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class ImageResult:
    """The image a run uses.

    Attributes:
        tag: the image tag.
        content_hash: the hash the tag was derived from (empty for a given image).
        reused: an image with that tag existed; nothing was built.
        build_seconds: time spent preparing wheels and building.
        base_image: the base image.
        build_log: the last lines of the build output, when one ran.
    """

    tag: str
    content_hash: str
    reused: bool
    build_seconds: float
    base_image: str
    build_log: list[str] = field(default_factory=list)


def require_image(client: Any, name: str, pull: bool = False) -> Any:
    """The image ``name`` from the engine, pulled first when allowed and missing.

    Raises:
        BackendError: the image is not on the engine (and could not be pulled).
    """
    from docker.errors import ImageNotFound

    try:
        return client.images.get(name)
    except ImageNotFound:
        if not pull:
            raise BackendError(
                f"image '{name}' is not present on the Docker engine; pull or build it "
                f"first (docker pull {name}), or set pull_base_image: true"
            ) from None
    except engine_errors() as exc:
        raise BackendError(f"cannot look up image '{name}': {exc}") from None
    try:
        return client.images.pull(name)
    except engine_errors() as exc:
        raise BackendError(
            f"image '{name}' is not on the engine and pulling it failed: {exc}"
        ) from None


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")
    return slug[:100] or "pipeline"


def _dockerfile_value(value: str) -> str:
    # Quoted for ENV: backslashes and quotes escaped, and `$` kept from substitution.
    return json.dumps(value, ensure_ascii=False).replace("$", "\\$")


@dataclass(frozen=True)
class ImageIdentity:
    """What names the image a run needs, known before anything is built.

    Attributes:
        tag: ``flowyml/<pipeline>:<hash>``.
        content_hash: the hash of everything that goes into the image.
        requirements: the pinned requirements installed in it.
        dockerfile: the user's Dockerfile it builds on, if any.
    """

    tag: str
    content_hash: str
    requirements: list[str]
    dockerfile: Path | None


def image_identity(
    pipeline_name: str,
    source: ProjectSource,
    docker_config: DockerConfig,
    options: BuildOptions,
    base_image_id: str,
) -> ImageIdentity:
    """The tag and content hash of the image :func:`ensure_image` builds, without
    building anything: what ``--plan`` shows and what a run builds are one computation.

    Raises:
        BackendError: a flowyml distribution is not installed.
        ConfigError: the user's Dockerfile does not exist.
    """
    dockerfile = _user_dockerfile(source, docker_config)
    flowyml = [[name, *distribution_identity(name)] for name in options.distributions]
    requirements = pinned_dependencies(
        list(options.distributions), dict(options.runtime_requirements)
    ) + list(docker_config.requirements)
    fingerprint = {
        "generator": GENERATOR_VERSION,
        "base_image": options.base_image,
        "base_image_id": base_image_id,
        "flowyml": flowyml,
        "requirements": requirements,
        "python_version": options.python_version,
        "platforms": list(options.platforms),
        "env": docker_config.env,
        "build_args": docker_config.build_args,
        "platform": docker_config.platform,
        "workdir": docker_config.workdir,
        "dockerfile": hashlib.sha256(dockerfile.read_bytes()).hexdigest() if dockerfile else None,
        "project": source.fingerprint(),
    }
    content_hash = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
    tag = f"flowyml/{_slug(pipeline_name)}:{content_hash[:16]}"
    return ImageIdentity(tag, content_hash, requirements, dockerfile)


def existing_image(client: Any, identity: ImageIdentity) -> Any | None:
    """The engine's image with that tag, or with that content hash (built for another
    pipeline of the project), or ``None``; only looks.

    Raises:
        BackendError: the engine cannot be asked.
    """
    from docker.errors import ImageNotFound

    try:
        return client.images.get(identity.tag)
    except ImageNotFound:
        pass  # maybe built for another pipeline of the project
    except engine_errors() as exc:
        raise BackendError(f"cannot look up image '{identity.tag}': {exc}") from None
    try:
        same = client.images.list(
            filters={"label": f"flowyml.content_hash={identity.content_hash}"}
        )
    except engine_errors() as exc:
        raise BackendError(f"cannot list the engine's images: {exc}") from None
    return same[0] if same else None


def ensure_image(
    client: Any,
    pipeline_name: str,
    source: ProjectSource,
    docker_config: DockerConfig,
    options: BuildOptions,
    log: Callable[[str], None] | None = None,
) -> ImageResult:
    """The tag of an image holding flowyml and the project, built only when missing.

    Args:
        client: a docker client.
        pipeline_name: names the image repository.
        source: the project to copy in.
        docker_config: requirements, env, build args, platform, Dockerfile.
        options: base image, distributions, wheel targets, build network.
        log: receives progress lines.

    Raises:
        BackendError: the base image is missing, wheels cannot be prepared, or the
            build failed (the message ends with the build's last lines).
        ConfigError: the user's Dockerfile does not exist.
    """
    started = time.perf_counter()
    say = log or (lambda _line: None)
    if docker_config.image:
        require_image(client, docker_config.image, options.pull_base_image)
        return ImageResult(docker_config.image, "", True, 0.0, docker_config.image)
    base = require_image(client, options.base_image, options.pull_base_image)
    identity = image_identity(pipeline_name, source, docker_config, options, base.id)
    tag, content_hash = identity.tag, identity.content_hash
    found = existing_image(client, identity)
    if found is not None:
        if tag not in (found.tags or []):  # built for another pipeline of the project
            repository, _, version = tag.rpartition(":")
            found.tag(repository, version)
            say(f"image {tag} is the project's existing image {found.short_id}; nothing to build")
        else:
            say(f"image {tag} is up to date; nothing to build")
        seconds = time.perf_counter() - started
        return ImageResult(tag, content_hash, True, seconds, options.base_image)
    dockerfile = identity.dockerfile
    wheels = [distribution_wheel(name) for name in options.distributions]
    requirements = identity.requirements
    deps = dependency_wheels(requirements, options.python_version, list(options.platforms))
    base_name = options.base_image
    lines: list[str] = []
    if dockerfile is not None:
        base_name = f"{tag}-base"
        say(f"building {base_name} from {dockerfile}")
        lines += _build(client, source.host_dir, base_name, docker_config, options, dockerfile, say)
    context = Path(tempfile.mkdtemp(prefix="flowyml-image-"))
    try:
        _write_context(context, source, docker_config, base_name, wheels, deps, requirements)
        say(f"building {tag} on {base_name}")
        lines += _build(
            client,
            context,
            tag,
            docker_config,
            options,
            context / "Dockerfile",
            say,
            labels={"flowyml.pipeline": pipeline_name, "flowyml.content_hash": content_hash},
        )
    finally:
        shutil.rmtree(context, ignore_errors=True)
    return ImageResult(
        tag, content_hash, False, time.perf_counter() - started, options.base_image, lines[-50:]
    )


def _user_dockerfile(source: ProjectSource, docker_config: DockerConfig) -> Path | None:
    if not docker_config.dockerfile:
        return None
    path = Path(docker_config.dockerfile)
    path = path if path.is_absolute() else source.host_dir / path
    if not path.is_file():
        raise ConfigError(f"docker.dockerfile: {path} does not exist")
    return path


def _write_context(
    context: Path,
    source: ProjectSource,
    docker_config: DockerConfig,
    base_name: str,
    wheels: list[Wheel],
    deps: Path,
    requirements: list[str],
) -> None:
    wheel_dir = context / "wheels"
    wheel_dir.mkdir()
    for path in [w.path for w in wheels] + sorted(deps.glob("*.whl")):
        _link_or_copy(path, wheel_dir / path.name)
    project = context / "project"
    project.mkdir()
    for relative in source.files:
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(source.host_dir / relative, target)
    workdir = docker_config.workdir
    # Third-party requirements first (resolved from the wheel folder), then the flowyml
    # wheels without their declared dependencies: the pinned list above already holds
    # what they need in a container, which may be less than they declare.
    pip = f"{VENV}/bin/pip install --no-index --no-cache-dir --disable-pip-version-check"
    own = " ".join(json.dumps(f"{_WHEELS_IN_IMAGE}/{w.path.name}") for w in wheels)
    third_party = " ".join(json.dumps(r) for r in requirements)
    lines = [f"FROM {base_name}"]
    lines += [f"ARG {name}" for name in sorted(docker_config.build_args)]
    lines += [
        f"COPY wheels {_WHEELS_IN_IMAGE}",
        f"RUN python3 -m venv {VENV} \\",
        *([f" && {pip} --find-links {_WHEELS_IN_IMAGE} {third_party} \\"] if requirements else []),
        f" && {pip} --no-deps {own} \\",
        f" && rm -rf {_WHEELS_IN_IMAGE}",
        f"ENV PATH={VENV}/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1"
        f" PYTHONPATH={workdir}",
    ]
    lines += [f"ENV {k}={_dockerfile_value(v)}" for k, v in sorted(docker_config.env.items())]
    # Containers write no bytecode (PYTHONDONTWRITEBYTECODE, another user): each would
    # compile the project again. A file that does not compile fails its import alike.
    compiled = f"{VENV}/bin/python -m compileall -q {shlex.quote(workdir)} >/dev/null || true"
    lines += [f"WORKDIR {workdir}", f"COPY project/ {workdir}/", f"RUN {compiled}"]
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: copy instead
        shutil.copy2(src, dst)


def _build(
    client: Any,
    context: Path,
    tag: str,
    docker_config: DockerConfig,
    options: BuildOptions,
    dockerfile: Path,
    say: Callable[[str], None],
    labels: dict[str, str] | None = None,
) -> list[str]:
    lines: list[str] = []
    try:
        stream = client.api.build(
            path=str(context),
            dockerfile=str(dockerfile.relative_to(context))
            if dockerfile.is_relative_to(context)
            else str(dockerfile),
            tag=tag,
            rm=True,
            forcerm=True,
            pull=False,
            network_mode=options.network_mode,
            buildargs=dict(docker_config.build_args) or None,
            platform=docker_config.platform,
            labels=labels,
            decode=True,
        )
        for chunk in stream:
            text = chunk.get("stream") or chunk.get("status") or ""
            for line in text.splitlines():
                if line.strip():
                    lines.append(line)
                    say(line)
            if "error" in chunk:
                tail = "\n  ".join(lines[-20:])
                raise BackendError(
                    f"building image {tag} failed: {chunk['error'].strip()}\n  {tail}"
                )
    except engine_errors() as exc:
        raise BackendError(f"building image {tag} failed: {exc}") from None
    return lines
