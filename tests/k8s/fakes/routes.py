"""Which resource a request path names: ``/apis/batch/v1/namespaces/ns/jobs/x`` and kin."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["KINDS", "Route", "parse_path"]

KINDS = {"jobs": "Job", "pods": "Pod", "secrets": "Secret", "events": "Event"}
_PREFIXES = {"/api/v1": "", "/apis/batch/v1": "batch"}
_GROUP_OF = {"jobs": "batch", "pods": "", "secrets": "", "events": ""}
_NAMESPACED = re.compile(
    r"^/namespaces/(?P<ns>[a-z0-9-]+)/(?P<res>[a-z]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[a-z]+))?)?/?$"
)
_CLUSTER = re.compile(r"^/(?P<res>[a-z]+)(?:/(?P<name>[^/]+))?/?$")


@dataclass(frozen=True)
class Route:
    """A resource path: namespace ("" for all), resource, name and subresource ("" if none)."""

    group: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def kind(self) -> str:
        """The object kind (``Job``) of the resource."""
        return KINDS.get(self.resource, self.resource.capitalize())

    @property
    def api_version(self) -> str:
        """``batch/v1`` or ``v1``."""
        return f"{self.group}/v1" if self.group else "v1"


def parse_path(path: str) -> Route | None:
    """The route of a resource path, None for anything else (discovery, unknown)."""
    for prefix, group in _PREFIXES.items():
        if not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) :]
        match = _NAMESPACED.match(rest)
        if match and not (match["res"] in KINDS and _GROUP_OF[match["res"]] != group):
            if match["res"] not in KINDS:
                return None
            return Route(group, match["res"], match["ns"], match["name"] or "", match["sub"] or "")
        match = _CLUSTER.match(rest)
        if match is None:
            return None
        resource = match["res"]
        if resource in KINDS and _GROUP_OF[resource] == group and not match["name"]:
            return Route(group, resource)
        if group == "" and resource in ("nodes", "namespaces"):
            return Route("", resource, "", match["name"] or "")
        return None
    return None
