"""The Kubernetes API as the backend uses it: one client per settings, plain-dict answers.

Objects are read and written as plain dicts (``_preload_content=False``), the form the
apiserver speaks and the form ``plan()`` renders, so no model class stands between the
backend and what the cluster says. Every request is counted by kind, and a refused one
becomes a :class:`~flowyml.backend.BackendError` naming what was being done.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from flowyml.backend import BackendError, ConfigError
from flowyml_k8s.config import KubernetesConfig

__all__ = ["KubeApis", "NotFound", "Unreachable"]

Obj = dict[str, Any]


class NotFound(BackendError):
    """The object asked for does not exist (HTTP 404)."""


class Unreachable(BackendError):
    """The apiserver did not answer (connection refused, timeout)."""


class KubeApis:
    """The clients of one cluster, made on first use.

    Args:
        config: the backend's settings (where the cluster is).
    """

    def __init__(self, config: KubernetesConfig) -> None:
        self.config = config
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._client: Any = None
        self._namespace: str | None = config.namespace

    # -- connection ---------------------------------------------------------------------
    def client(self) -> Any:
        """The ``kubernetes.client.ApiClient``.

        Raises:
            ConfigError: no kubeconfig or in-cluster account can be loaded.
        """
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            if self.config.in_cluster:
                config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
                if self._namespace is None:
                    self._namespace = _in_cluster_namespace()
            else:
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=self.config.kubeconfig,
                    context=self.config.context,
                    client_configuration=configuration,
                )
                if self._namespace is None:
                    self._namespace = self._context_namespace()
        except (config.ConfigException, OSError) as exc:
            where = "in-cluster" if self.config.in_cluster else "kubeconfig"
            raise ConfigError(
                f"backend 'kubernetes': cannot load the {where} configuration ({exc}); set "
                "kubeconfig and context, or in_cluster: true inside a pod"
            ) from None
        return client.ApiClient(configuration)

    def _context_namespace(self) -> str:
        from kubernetes import config

        contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            self.config.kubeconfig
        )
        chosen = active
        if self.config.context:
            chosen = next((c for c in contexts if c["name"] == self.config.context), active)
        return str((chosen or {}).get("context", {}).get("namespace") or "default")

    @property
    def namespace(self) -> str:
        """The namespace of the run's objects."""
        self.client()
        return self._namespace or "default"

    def close(self) -> None:
        """Close the connection pool, if one was opened."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- requests -----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        action: str,
        query: dict[str, Any] | None,
        headers: dict[str, str],
        body: Obj | None = None,
    ) -> bytes:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        client = self.client()
        self.calls[f"{method} {_kind(path)}"] += 1
        try:
            request = client.param_serialize(
                method,
                path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = client.call_api(
                *request[:4], _request_timeout=self.config.request_timeout_seconds
            )
            data = bytes(response.read() or b"")
        except ApiException as exc:
            raise Unreachable(f"{action} failed: {exc.reason}") from None
        except (HTTPError, OSError) as exc:
            raise Unreachable(
                f"{action} failed: the Kubernetes API at {client.configuration.host} does not "
                f"answer ({exc})"
            ) from None
        if response.status == 404:
            raise NotFound(f"{action}: not found ({_status_message(data)})")
        if response.status >= 400:
            raise BackendError(f"{action} failed: HTTP {response.status} {_status_message(data)}")
        return data

    def request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        query: dict[str, Any] | None = None,
        body: Obj | None = None,
    ) -> Obj:
        """Send one request and return the decoded answer.

        Args:
            method: ``GET``, ``POST``, ``PATCH``, ``DELETE``.
            path: the resource path (``/apis/batch/v1/namespaces/NS/jobs``).
            action: what is being done, for the error message.
            query: query parameters.
            body: the JSON body (a PATCH is a merge patch).

        Raises:
            NotFound: the object does not exist.
            Unreachable: the apiserver could not be reached.
            BackendError: the apiserver refused the request.
        """
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        data = self._send(method, path, action, query, headers, body)
        answer: Obj = json.loads(data) if data else {}
        return answer

    def text(self, path: str, action: str, query: dict[str, Any] | None = None) -> str:
        """A plain-text answer (a pod log).

        Raises:
            NotFound: the pod does not exist.
            BackendError: the request failed.
        """
        data = self._send("GET", path, action, query, {"Accept": "*/*"})
        return data.decode("utf-8", errors="replace")

    # -- paths --------------------------------------------------------------------------
    def jobs_path(self, name: str | None = None) -> str:
        """The Jobs collection of the namespace, or one Job."""
        base = f"/apis/batch/v1/namespaces/{self.namespace}/jobs"
        return f"{base}/{name}" if name else base

    def core_path(self, resource: str, name: str | None = None) -> str:
        """A core/v1 collection of the namespace (``pods``, ``secrets``), or one object."""
        base = f"/api/v1/namespaces/{self.namespace}/{resource}"
        return f"{base}/{name}" if name else base

    def total(self) -> int:
        """Requests sent so far."""
        return sum(self.calls.values())


def _kind(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts[-1] == "log":
        return "log"
    # .../namespaces/NS/RESOURCE or .../RESOURCE/NAME
    resource_at = parts.index("namespaces") + 2 if "namespaces" in parts else len(parts) - 1
    return parts[resource_at] + ("" if len(parts) == resource_at + 1 else "/one")


def _status_message(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message") or data[:200].decode(errors="replace"))
    except (TypeError, ValueError, AttributeError):
        return data[:200].decode(errors="replace")


def _in_cluster_namespace() -> str:
    path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
    try:
        with open(path) as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"
