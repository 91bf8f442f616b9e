"""A loopback fake Kubernetes API server whose pods run as containers on local Docker.

``FakeKubeApiServer`` serves batch/v1 Jobs, core/v1 Pods (with logs), Secrets, Events,
the one Node and discovery to the official ``kubernetes`` client and ``kubectl``.
``ClusterSettings`` and ``FakeNode`` configure it. See ``README.md`` for what it serves.
"""

from __future__ import annotations

from .cluster import Cluster, ClusterSettings
from .docker_pods import FAKE_LABEL, NAMESPACE_LABEL, POD_LABEL, SERVER_LABEL
from .errors import ApiError
from .request_log import ApiRequest, RequestLog
from .scheduler import NODE_NAME, FakeNode
from .server import FakeKubeApiServer

__all__ = [
    "FAKE_LABEL",
    "NAMESPACE_LABEL",
    "NODE_NAME",
    "POD_LABEL",
    "SERVER_LABEL",
    "ApiError",
    "ApiRequest",
    "Cluster",
    "ClusterSettings",
    "FakeKubeApiServer",
    "FakeNode",
    "RequestLog",
]
