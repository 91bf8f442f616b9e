"""The HTTP side of the fake apiserver: routing, JSON answers, chunked streams, the log.

Plain HTTP/1.1 on 127.0.0.1 with keep-alive; watches and followed logs are sent with
chunked transfer encoding and end when the watch times out, the container exits, the
client goes away, or the server stops. Any exception that is not an :class:`ApiError` is
answered with a 500 ``InternalError`` Status and kept in ``FakeKubeApiServer.errors`` so a
test can fail on it rather than on a confusing client error.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .discovery import DOCUMENTS
from .errors import ApiError, status_object
from .request_log import ApiRequest, redact
from .routes import Route, parse_path
from .selectors import field_selector, label_selector
from .tables import to_table
from .updates import apply_patch, merge_allowed
from .validation import default_and_validate_job, validate_secret

if TYPE_CHECKING:
    from .server import FakeKubeApiServer

__all__ = ["ApiHandler"]

Obj = dict[str, Any]
_DEFAULT_WATCH_SECONDS = 1800


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


class ApiHandler(BaseHTTPRequestHandler):
    """One connection's requests; ``server.fake`` is the :class:`FakeKubeApiServer`."""

    protocol_version = "HTTP/1.1"
    server_version = "flowyml-k8s-fake"
    fake: FakeKubeApiServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log replaces the stderr access log."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- plumbing ----------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        self.fake = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        route = parse_path(url.path)
        record = {"verb": "discovery"} if route is None else self._meaning(method, route, query)
        code = 200
        try:
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError as error:
                    raise ApiError.bad_request(f"the body is not JSON: {error}") from error
            code = self._dispatch(method, url.path, route, query, body)
        except ApiError as error:
            code = error.code
            self._send_json(error.code, error.status)
        except (BrokenPipeError, ConnectionResetError):
            code = 499  # the client went away mid-stream; nothing to answer
        except Exception as error:
            code = 500
            self.fake.errors.append(error)
            self._send_json(500, status_object(500, "InternalError", f"fake apiserver: {error!r}"))
        self.fake.requests.add(
            ApiRequest(method, url.path, query, redact(body), code, **record)  # type: ignore[arg-type]
        )

    @staticmethod
    def _meaning(method: str, route: Route, query: dict[str, str]) -> dict[str, str]:
        if method == "GET":
            verb = "get" if route.name else ("watch" if _truthy(query.get("watch")) else "list")
            verb = "log" if route.subresource == "log" else verb
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "delete")
            if method == "DELETE" and not route.name:
                verb = "deletecollection"
        return {
            "verb": verb,
            "resource": route.resource,
            "group": route.group,
            "namespace": route.namespace,
            "name": route.name,
            "subresource": route.subresource,
        }

    def _send_json(self, code: int, payload: Obj) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, content_type: str, chunks: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for chunk in chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _wants_table(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    # -- dispatch ----------------------------------------------------------------------

    def _dispatch(
        self, method: str, path: str, route: Route | None, query: dict[str, str], body: Any
    ) -> int:
        if route is None:
            document = DOCUMENTS.get(path.rstrip("/") or "/")
            if method != "GET" or document is None:
                raise ApiError(404, "NotFound", f"the server could not find {path}")
            self._send_json(200, document)
            return 200
        if route.resource in ("nodes", "namespaces"):
            return self._cluster_scoped(method, route)
        cluster = self.fake.cluster
        if method == "GET" and route.subresource == "log":
            return self._log(route, query)
        if method == "GET" and route.name:
            obj = cluster.store.get(route.resource, route.namespace, route.name, route.group)
            return self._answer(200, route, obj)
        if method == "GET" and _truthy(query.get("watch")):
            return self._watch(route, query)
        if method == "GET":
            return self._list(route, query)
        if query.get("dryRun") == "All" and method != "GET":
            return self._dry_run(method, route, body)
        if method == "POST" and not route.name and route.namespace:
            obj = cluster.create(route.resource, route.namespace, body or {})
            return self._answer(201, route, obj)
        if method == "DELETE" and route.name:
            options = {**(body or {}), **query}
            answer = cluster.delete(route.resource, route.namespace, route.name, options)
            return self._answer(200, route, answer)
        if method == "DELETE" and route.namespace:
            return self._delete_collection(route, query, body or {})
        if method in ("PUT", "PATCH") and route.name and not route.subresource:
            return self._update(method, route, body)
        raise ApiError.method_not_allowed(f"the fake does not serve {method} {path}")

    def _dry_run(self, method: str, route: Route, body: Any) -> int:
        """``dryRun=All``: validate a create, or show the object, and change nothing."""
        if method == "POST" and route.resource in ("jobs", "secrets"):
            check = default_and_validate_job if route.resource == "jobs" else validate_secret
            obj = check({**(body or {}), "metadata": {**(body or {}).get("metadata", {})}})
            obj["metadata"]["namespace"] = route.namespace
            return self._answer(201, route, obj)
        if route.name:
            store = self.fake.cluster.store
            obj = store.get(route.resource, route.namespace, route.name, route.group)
            return self._answer(200, route, obj)
        raise ApiError.method_not_allowed(f"the fake has no dry run of {method} {route.resource}")

    def _answer(self, code: int, route: Route, obj: Obj) -> int:
        if obj.get("kind") != "Status":
            obj.setdefault("kind", route.kind)
            obj.setdefault("apiVersion", route.api_version)
        if self._wants_table() and obj.get("kind") != "Status":
            rv = obj["metadata"].get("resourceVersion", "")
            self._send_json(code, to_table(route.resource, [obj], rv))
        else:
            self._send_json(code, obj)
        return code

    def _cluster_scoped(self, method: str, route: Route) -> int:
        if method != "GET":
            raise ApiError.method_not_allowed(f"{route.resource} are read-only in the fake")
        if route.resource == "nodes":
            node = self.fake.cluster.settings.node.as_object()
            if route.name and route.name != node["metadata"]["name"]:
                raise ApiError.not_found("nodes", route.name)
            items = [node]
        else:
            names = (route.name and [route.name]) or sorted(
                {"default", *self.fake.cluster.store.namespaces()}
            )
            items = [
                {
                    "kind": "Namespace",
                    "apiVersion": "v1",
                    "metadata": {"name": n},
                    "status": {"phase": "Active"},
                }
                for n in names
            ]
        if route.name:
            self._send_json(200, items[0])
        else:
            kind = "NodeList" if route.resource == "nodes" else "NamespaceList"
            self._send_json(200, {"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items})
        return 200

    def _selected(self, route: Route, query: dict[str, str]) -> list[Obj]:
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"))
        store = self.fake.cluster.store
        with store.lock:
            return [
                copy.deepcopy(o)
                for o in store.items(route.resource, route.namespace or None)
                if labels(o) and fields(o)
            ]

    def _list(self, route: Route, query: dict[str, str]) -> int:
        items = self._selected(route, query)
        rv = str(self.fake.cluster.store.resource_version)
        if self._wants_table():
            self._send_json(200, to_table(route.resource, items, rv))
            return 200
        for item in items:
            item.setdefault("kind", route.kind)
            item.setdefault("apiVersion", route.api_version)
        self._send_json(
            200,
            {
                "kind": f"{route.kind}List",
                "apiVersion": route.api_version,
                "metadata": {"resourceVersion": rv},
                "items": items,
            },
        )
        return 200

    def _watch(self, route: Route, query: dict[str, str]) -> int:
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"))
        since_text = query.get("resourceVersion") or ""
        since = int(since_text) if since_text not in ("", "0") else None
        timeout = float(query.get("timeoutSeconds") or _DEFAULT_WATCH_SECONDS)
        store = self.fake.cluster.store
        events = store.watch(
            route.resource,
            route.namespace or None,
            lambda o: labels(o) and fields(o),
            since,
            time.monotonic() + timeout,
            self.fake.stopping.is_set,
        )
        lines = (self._event_line(route, kind, obj) for kind, obj in events)
        self._send_stream("application/json", lines)
        return 200

    @staticmethod
    def _event_line(route: Route, kind: str, obj: Obj) -> bytes:
        obj = {"kind": route.kind, "apiVersion": route.api_version, **obj}
        return json.dumps({"type": kind, "object": obj}).encode() + b"\n"

    def _log(self, route: Route, query: dict[str, str]) -> int:
        cluster = self.fake.cluster
        pod = cluster.store.get("pods", route.namespace, route.name)
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = query.get("container") or names[0]
        if container not in names:
            raise ApiError.bad_request(f"container {container} is not valid for pod {route.name}")
        if _truthy(query.get("previous")):
            raise ApiError.bad_request(
                f'previous terminated container "{container}" in pod "{route.name}" not found'
            )
        state = ((pod["status"].get("containerStatuses") or [{}])[0]).get("state") or {}
        runner = cluster.kubelet.runner(route.namespace, route.name)
        if runner is None or "waiting" in state or not state:
            reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
            raise ApiError.bad_request(
                f'container "{container}" in pod "{route.name}" is waiting to start: {reason}'
            )
        tail = query.get("tailLines")
        chunks = runner.logs.read(
            follow=_truthy(query.get("follow")),
            tail=int(tail) if tail is not None else None,
            timestamps=_truthy(query.get("timestamps")),
            stop=self.fake.stopping,
        )
        self._send_stream("text/plain", chunks)
        return 200

    def _delete_collection(self, route: Route, query: dict[str, str], body: Obj) -> int:
        options = {**body, **query}
        for obj in self._selected(route, query):
            meta = obj["metadata"]
            try:
                self.fake.cluster.delete(route.resource, route.namespace, meta["name"], options)
            except ApiError as error:
                if error.code != 404:  # gone meanwhile: what we wanted
                    raise
        self._send_json(200, status_object(200, "", "", {"kind": route.resource}))
        return 200

    def _update(self, method: str, route: Route, body: Any) -> int:
        store = self.fake.cluster.store
        with store.lock:
            live = store.find(route.resource, route.namespace, route.name)
            if live is None:
                raise ApiError.not_found(route.resource, route.name, route.group)
            if method == "PATCH":
                wanted = apply_patch(live, body, self.headers.get("Content-Type") or "")
            else:
                wanted = body or {}
                expected = (wanted.get("metadata") or {}).get("resourceVersion")
                if expected and expected != live["metadata"]["resourceVersion"]:
                    raise ApiError(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on {route.resource} "{route.name}": '
                        "the object has been modified; please apply your changes to the "
                        "latest version and try again",
                    )
            merge_allowed(route.resource, live, wanted, route.kind)
            obj = store.update(route.resource, live)
        return self._answer(200, route, obj)
