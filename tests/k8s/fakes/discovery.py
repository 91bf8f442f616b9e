"""Discovery documents: what ``kubectl`` and the client read before touching a resource.

Served in the legacy (non-aggregated) form only: kubectl 1.26+ asks for aggregated
discovery first and falls back to ``/api/v1`` and ``/apis/batch/v1`` when the answer is
plain ``application/json``. ``/openapi/v2`` and ``/openapi/v3`` answer 404, which kubectl
tolerates for ``get``, ``logs`` and ``delete`` (and ``create``/``apply`` with
``--validate=false``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["API_GROUP_LIST", "DOCUMENTS", "VERSION"]

VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-flowyml-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _resource(
    name: str, kind: str, namespaced: bool = True, verbs: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "singularName": "" if "/" in name else kind.lower(),
        "namespaced": namespaced,
        "kind": kind,
        "verbs": _ALL if verbs is None else verbs,
        **extra,
    }


_CORE = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        _resource("pods", "Pod", shortNames=["po"], categories=["all"]),
        _resource("pods/log", "Pod", verbs=["get"]),
        _resource("pods/status", "Pod", verbs=["get", "patch", "update"]),
        _resource("secrets", "Secret"),
        _resource("events", "Event", shortNames=["ev"]),
        _resource("nodes", "Node", namespaced=False, verbs=["get", "list"], shortNames=["no"]),
        _resource("namespaces", "Namespace", namespaced=False, verbs=["get", "list"]),
    ],
}
_BATCH_VERSION = {"groupVersion": "batch/v1", "version": "v1"}
_BATCH_GROUP = {
    "name": "batch",
    "versions": [_BATCH_VERSION],
    "preferredVersion": _BATCH_VERSION,
}
_BATCH = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "batch/v1",
    "resources": [
        _resource("jobs", "Job", categories=["all"]),
        _resource("jobs/status", "Job", verbs=["get", "patch", "update"]),
    ],
}
API_GROUP_LIST = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_BATCH_GROUP]}
DOCUMENTS: dict[str, Any] = {
    "/version": VERSION,
    "/api": {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    },
    "/api/v1": _CORE,
    "/apis": API_GROUP_LIST,
    "/apis/batch": {"kind": "APIGroup", "apiVersion": "v1", **_BATCH_GROUP},
    "/apis/batch/v1": _BATCH,
}
