"""PUT and PATCH: what may change on an existing object, and the patch formats.

``application/merge-patch+json`` (RFC 7386) and ``application/json-patch+json`` (RFC 6902
add/replace/remove/test) are applied as specified. ``strategic-merge-patch+json`` — what
the official client sends for a dict body — is applied as a merge patch, except that
``ownerReferences`` lists are merged by ``uid`` instead of replaced, as the apiserver's
patch strategy for that field does. Labels, annotations and ownerReferences may change on
any object; a Secret's data too; a Job's or pod's spec is immutable here.
"""

from __future__ import annotations

import base64
import copy
from typing import Any, cast

from .errors import ApiError

__all__ = ["apply_patch", "merge_allowed"]

Obj = dict[str, Any]
_METADATA = ("labels", "annotations", "ownerReferences")


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def _json_patch(obj: Obj, operations: list[Obj]) -> Obj:
    obj = copy.deepcopy(obj)
    for operation in operations:
        *parents, last = _pointer(operation["path"])
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        op = operation["op"]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if op == "add":
                node.insert(index, operation["value"])
            elif op == "replace":
                node[index] = operation["value"]
            elif op == "remove":
                del node[index]
            continue
        if op in ("add", "replace"):
            node[last] = operation["value"]
        elif op == "remove":
            node.pop(last, None)
        elif op == "test" and node.get(last) != operation["value"]:
            raise ApiError(422, "Invalid", f"the test operation on {operation['path']} failed")
        elif op not in ("test",):
            raise ApiError.bad_request(f"json patch operation {op!r} is not supported")
    return obj


def apply_patch(live: Obj, patch: Any, content_type: str) -> Obj:
    """``live`` with ``patch`` applied, by the patch type in ``content_type``.

    Raises:
        ApiError: 415 for an unknown patch type, 400 for a malformed patch.
    """
    try:
        if "json-patch" in content_type:
            return _json_patch(live, patch)
        if "strategic-merge-patch" in content_type:
            refs = (patch.get("metadata") or {}).get("ownerReferences")
            merged = _merge(live, patch)
            if isinstance(refs, list):
                old = {r.get("uid"): r for r in live["metadata"].get("ownerReferences") or []}
                old |= {r.get("uid"): r for r in refs}
                merged["metadata"]["ownerReferences"] = list(old.values())
            return cast(Obj, merged)
        if "merge-patch" in content_type:
            return cast(Obj, _merge(live, patch))
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as error:
        raise ApiError.bad_request(f"malformed patch: {error!r}") from error
    raise ApiError(415, "UnsupportedMediaType", f"the patch type {content_type!r} is not supported")


def merge_allowed(resource: str, live: Obj, wanted: Obj, kind: str) -> None:
    """Copy the mutable fields of ``wanted`` into ``live`` (the caller records the change).

    Raises:
        ApiError: 422 when an immutable field differs.
    """
    name = live["metadata"]["name"]
    if resource in ("jobs", "pods") and wanted.get("spec", live["spec"]) != live["spec"]:
        raise ApiError.invalid(kind, name, [("spec", "field is immutable in the fake")])
    for key in _METADATA:
        value = (wanted.get("metadata") or {}).get(key)
        if value is None:
            live["metadata"].pop(key, None)
        else:
            live["metadata"][key] = value
    if resource == "secrets":
        data = dict(wanted.get("data") or {})
        for key, value in (wanted.get("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        live["data"] = data
