"""Validation and defaulting of created objects, with the apiserver's 422 wording.

Only what the fake can honour passes: a Job runs one pod at a time (``parallelism`` and
``completions`` 1), one container, ``restartPolicy: Never``; anything else is rejected with
a 422 that says the *fake* does not support it, rather than silently running something
different from what a cluster would.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from typing import Any

from .errors import ApiError
from .quantities import QuantityError, parse_quantity

__all__ = ["default_and_validate_job", "validate_pod_spec", "validate_secret"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VOLUME_SOURCES = {"hostPath", "persistentVolumeClaim", "emptyDir", "secret"}
Obj = dict[str, Any]


def _name_causes(meta: Obj, limit: int) -> list[tuple[str, str]]:
    name = meta.get("name") or ""
    if not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    if len(name) > limit or not _NAME.match(name):
        return [
            (
                "metadata.name",
                f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower '
                "case alphanumeric characters or '-', and must start and end with an "
                f"alphanumeric character (at most {limit} characters)",
            )
        ]
    return []


def validate_pod_spec(spec: Obj, path: str) -> list[tuple[str, str]]:
    """Causes against a pod spec at ``path``; fills the apiserver's defaults in place."""
    causes: list[tuple[str, str]] = []
    containers = spec.get("containers") or []
    if len(containers) != 1:
        causes.append((f"{path}.containers", "the fake runs exactly one container per pod"))
    if spec.get("initContainers"):
        causes.append((f"{path}.initContainers", "not supported by the fake"))
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    for volume in spec.get("volumes") or []:
        if not _VOLUME_SOURCES & set(volume):
            causes.append(
                (
                    f"{path}.volumes[{volume.get('name')}]",
                    "the fake supports only hostPath, "
                    "persistentVolumeClaim, emptyDir and secret volumes",
                )
            )
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not container.get("name"):
            causes.append((f"{where}.name", "Required value"))
        if not container.get("image"):
            causes.append((f"{where}.image", "Required value"))
        tag = str(container.get("image", "")).rsplit("/", 1)[-1]
        latest = ":" not in tag or tag.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for kind in ("limits", "requests"):
            for resource, value in (container["resources"].get(kind) or {}).items():
                try:
                    parse_quantity(value)
                except QuantityError as error:
                    causes.append((f"{where}.resources.{kind}[{resource}]", str(error)))
    return causes


def default_and_validate_job(job: Obj) -> Obj:
    """A copy of a created Job with defaults filled in.

    Raises:
        ApiError: 422 with every cause found.
    """
    job = copy.deepcopy(job)
    job["apiVersion"], job["kind"] = "batch/v1", "Job"
    meta = job.setdefault("metadata", {})
    causes = _name_causes(meta, 63)
    spec = job.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    pod_spec = template.setdefault("spec", {})
    for field_name in ("parallelism", "completions"):
        spec.setdefault(field_name, 1)
        if spec[field_name] != 1:
            causes.append((f"spec.{field_name}", "the fake supports only 1"))
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    if spec["completionMode"] != "NonIndexed" or spec["suspend"]:
        causes.append(("spec", "the fake supports neither Indexed completion nor suspend"))
    if spec["backoffLimit"] < 0:
        causes.append(("spec.backoffLimit", "must be greater than or equal to 0"))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and deadline <= 0:
        causes.append(("spec.activeDeadlineSeconds", "must be greater than 0"))
    causes += validate_pod_spec(pod_spec, "spec.template.spec")
    if pod_spec["restartPolicy"] != "Never":
        value = pod_spec["restartPolicy"]
        message = 'Unsupported value: "Always": supported values: "OnFailure", "Never"'
        if value == "OnFailure":
            message = 'the fake supports only "Never"'
        causes.append(("spec.template.spec.restartPolicy", message))
    if causes:
        raise ApiError.invalid("Job", meta.get("name", ""), causes, "batch")
    job["status"] = {}
    return job


def validate_secret(secret: Obj) -> Obj:
    """A copy of a created Secret: ``stringData`` folded into base64 ``data``.

    Raises:
        ApiError: 422 for a bad name or a ``data`` value that is not base64.
    """
    secret = copy.deepcopy(secret)
    secret["apiVersion"], secret["kind"] = "v1", "Secret"
    meta = secret.setdefault("metadata", {})
    causes = _name_causes(meta, 253)
    data = secret.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            causes.append((f"data[{key}]", "illegal base64 data"))
    for key, value in (secret.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    secret["data"] = data
    secret.setdefault("type", "Opaque")
    if causes:
        raise ApiError.invalid("Secret", meta.get("name", ""), causes)
    return secret
