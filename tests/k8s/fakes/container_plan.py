"""Turn a pod's container spec into a :class:`ContainerPlan`: env, volumes, limits.

This is where ``valueFrom.secretKeyRef`` is read, at container start as the kubelet does;
a missing Secret or key is a ``CreateContainerConfigError`` that the kubelet retries. The
values go into the container's environment only — never into a log or the request log.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .docker_pods import ContainerPlan
from .quantities import parse_quantity

__all__ = ["ConfigError", "build_plan", "remove_scratch"]

SecretLookup = Callable[[str], Mapping[str, Any] | None]
_SCRATCH_PREFIX = "flowyml-k8s-fake-"


class ConfigError(Exception):
    """The container cannot be configured yet (``CreateContainerConfigError``)."""


def _secret_data(lookup: SecretLookup, namespace: str, name: str) -> dict[str, str]:
    secret = lookup(name)
    if secret is None:
        raise ConfigError(f'secret "{name}" not found')
    data = secret.get("data") or {}
    return {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in data.items()}


def _field(pod: Mapping[str, Any], path: str) -> str:
    meta = pod["metadata"]
    if path.startswith("metadata.labels['") and path.endswith("']"):
        return str((meta.get("labels") or {}).get(path[17:-2], ""))
    values = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": pod["spec"].get("nodeName"),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.hostIP": "127.0.0.1",
        "status.podIP": "127.0.0.1",
    }
    if path not in values:
        raise ConfigError(f"fieldRef {path!r} is not supported by the fake kubelet")
    return str(values[path] or "")


def _env(
    pod: Mapping[str, Any], container: Mapping[str, Any], lookup: SecretLookup
) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("secretRef")
        if ref is None:
            raise ConfigError("envFrom supports only secretRef in the fake kubelet")
        prefix = source.get("prefix", "")
        try:
            env |= {prefix + k: v for k, v in _secret_data(lookup, namespace, ref["name"]).items()}
        except ConfigError:
            if not ref.get("optional"):
                raise
    for variable in container.get("env") or []:
        name, value_from = variable["name"], variable.get("valueFrom")
        if value_from is None:
            env[name] = variable.get("value", "")
        elif "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            try:
                data = _secret_data(lookup, namespace, ref["name"])
            except ConfigError:
                if ref.get("optional"):
                    continue
                raise
            if ref["key"] not in data:
                if ref.get("optional"):
                    continue
                raise ConfigError(
                    f"couldn't find key {ref['key']} in Secret {namespace}/{ref['name']}"
                )
            env[name] = data[ref["key"]]
        elif "fieldRef" in value_from:
            env[name] = _field(pod, value_from["fieldRef"]["fieldPath"])
        else:
            kind = next(iter(value_from), "?")
            raise ConfigError(f"env {name}: valueFrom.{kind} is not supported by the fake")
    return env


def _volume_source(
    volume: Mapping[str, Any],
    claims: Mapping[str, str],
    scratch: Path,
    lookup: SecretLookup,
    namespace: str,
) -> str:
    if "hostPath" in volume:
        path = volume["hostPath"]["path"]
        if volume["hostPath"].get("type", "") in ("", "DirectoryOrCreate"):
            os.makedirs(path, exist_ok=True)
        return str(path)
    if "persistentVolumeClaim" in volume:
        return claims[volume["persistentVolumeClaim"]["claimName"]]
    target = scratch / volume["name"]
    target.mkdir(mode=0o777, exist_ok=True)
    target.chmod(0o777)  # any container user may write, as in an emptyDir
    if "secret" in volume:
        for key, value in _secret_data(lookup, namespace, volume["secret"]["secretName"]).items():
            (target / key).write_text(value)
    return str(target)


def build_plan(
    pod: Mapping[str, Any], claims: Mapping[str, str], lookup: SecretLookup
) -> ContainerPlan:
    """The Docker plan of the pod's first container.

    Args:
        pod: The pod (bound to the node).
        claims: PersistentVolumeClaim name to host directory.
        lookup: Finds a Secret of the pod's namespace by name (None if absent).

    Raises:
        ConfigError: A Secret or key is missing, or a source is not supported.
    """
    container = pod["spec"]["containers"][0]
    namespace = pod["metadata"]["namespace"]
    scratch = Path(tempfile.gettempdir()) / f"{_SCRATCH_PREFIX}{pod['metadata']['uid']}"
    scratch.mkdir(exist_ok=True)
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    mounts = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise ConfigError(f"volume {mount['name']!r} of a volumeMount is not in the pod")
        source = _volume_source(volume, claims, scratch, lookup, namespace)
        if mount.get("subPath"):
            source = os.path.join(source, mount["subPath"])
            os.makedirs(source, exist_ok=True)
        mounts.append((source, mount["mountPath"], bool(mount.get("readOnly"))))
    limits = (container.get("resources") or {}).get("limits") or {}
    user = (pod["spec"].get("securityContext") or {}).get("runAsUser")
    user = (container.get("securityContext") or {}).get("runAsUser", user)
    return ContainerPlan(
        image=container["image"],
        command=container.get("command") or None,
        args=container.get("args") or None,
        env=_env(pod, container, lookup),
        working_dir=container.get("workingDir") or None,
        user=str(user) if user is not None else None,
        memory_bytes=int(parse_quantity(limits["memory"])) if "memory" in limits else None,
        nano_cpus=int(parse_quantity(limits["cpu"]) * 10**9) if "cpu" in limits else None,
        mounts=mounts,
    )


def remove_scratch(uid: str) -> None:
    """Delete a pod's emptyDir and secret volume directories (the pod is gone)."""
    import shutil

    shutil.rmtree(Path(tempfile.gettempdir()) / f"{_SCRATCH_PREFIX}{uid}", ignore_errors=True)
