"""``FakeKubeApiServer``: the loopback Kubernetes API whose pods run on local Docker.

Start it, write a kubeconfig, and point the official client or ``kubectl`` at it::

    server = FakeKubeApiServer(docker.from_env(), ClusterSettings(network_mode="host"))
    server.start()
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    ...
    server.stop()  # every container, pod and object it made is gone

What it serves and what it does not: see ``README.md`` next to this module.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .cluster import Cluster, ClusterSettings
from .http_api import ApiHandler
from .request_log import RequestLog

__all__ = ["FakeKubeApiServer"]

_DEFAULT_EVICTION = "The node was low on resource: memory. "


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeKubeApiServer


class FakeKubeApiServer:
    """A Kubernetes API server on 127.0.0.1 for jobs, pods and secrets.

    Args:
        docker_client: A ``docker.DockerClient`` of the engine that runs the pods.
        settings: Node capacity, network mode, PVC directories, grace cap.

    Attributes:
        cluster: Objects, controllers, kubelet (see :class:`Cluster`).
        requests: Every request served (see :class:`RequestLog`).
        errors: Unexpected exceptions met while serving (answered with a 500).
        server_id: Value of the ``flowyml-k8s-fake.server`` label of its containers.
    """

    def __init__(self, docker_client: Any, settings: ClusterSettings | None = None) -> None:
        self.server_id = uuid.uuid4().hex[:12]
        self.cluster = Cluster(docker_client, self.server_id, settings or ClusterSettings())
        self.requests = RequestLog()
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> ClusterSettings:
        """The cluster's settings."""
        return self.cluster.settings

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        if self._httpd is None:
            raise RuntimeError("the fake apiserver is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> str:
        """Listen on a free loopback port; returns :attr:`url`."""
        self._httpd = _HttpServer(("127.0.0.1", 0), ApiHandler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-kube-apiserver", daemon=True
        )
        self._thread.start()
        return self.url

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig (as a dict) with one context ``fake`` pointing at the server."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "fake", "namespace": namespace},
                }
            ],
            "current-context": "fake",
        }

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        """Write :meth:`kubeconfig` to ``path`` (JSON, which is YAML) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.kubeconfig(namespace), indent=2))
        return target

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` of the server (its own configuration)."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        configuration.api_key = {"authorization": "Bearer fake-token"}
        return client.ApiClient(configuration)

    def evict(self, namespace: str, pod: str, message: str = _DEFAULT_EVICTION) -> None:
        """Test hook: evict a pod (``status.reason=Evicted``, phase Failed)."""
        self.cluster.evict(namespace, pod, message)

    def leftovers(self) -> list[Any]:
        """Containers of this server still on the engine."""
        return self.cluster.docker.leftovers()

    def reset(self, timeout: float = 15.0) -> list[str]:
        """Delete every object and container at once; forget requests and errors.

        Returns:
            Names of pods whose container did not stop within ``timeout``.
        """
        stuck = self.cluster.wipe(timeout)
        for container in self.leftovers():
            self.cluster.docker.remove(container)
        self.requests.clear()
        self.errors.clear()
        return stuck

    def stop(self) -> None:
        """End watches and log streams, delete everything, stop listening."""
        self.stopping.set()
        self.cluster.store.close()
        self.cluster.wipe()
        for container in self.leftovers():
            self.cluster.docker.remove(container)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
