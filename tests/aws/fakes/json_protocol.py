"""A loopback HTTP server speaking AWS's JSON 1.1 protocol, as botocore expects it.

Requests are ``POST /`` with ``X-Amz-Target: <Prefix>.<Operation>`` and a JSON body;
answers are JSON with ``Content-Type: application/x-amz-json-1.1``. Errors carry
``__type`` and ``message`` (and ``x-amzn-ErrorType``), so botocore raises ``ClientError``
with ``Error.Code`` set and its retry handler classifies throttling and 5xx the way it
does for the real service. Timestamps go out as epoch seconds, the protocol's encoding.
The signature is not checked.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["AwsError", "JsonServer", "validation_error"]

CONTENT_TYPE = "application/x-amz-json-1.1"


class AwsError(Exception):
    """An AWS error answer: ``code`` (e.g. ``ValidationException``), message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> AwsError:
    """A ``ValidationException`` (HTTP 400), the answer to most bad SageMaker requests."""
    return AwsError("ValidationException", message)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


# The handler answers (status, body) for an operation name and its decoded JSON body.
Dispatch = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


class JsonServer:
    """Serves one JSON 1.1 target prefix (e.g. ``SageMaker``) on ``127.0.0.1:<free port>``.

    Args:
        target_prefix: The part of ``X-Amz-Target`` before the dot.
        dispatch: Called with the operation and body; returns status and JSON body.
    """

    def __init__(self, target_prefix: str, dispatch: Dispatch) -> None:
        self.target_prefix = target_prefix
        self.dispatch = dispatch
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def start(self) -> str:
        """Start serving in a thread; return the endpoint URL."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = server.answer(self.headers.get("X-Amz-Target", ""), raw)
                payload = json.dumps(body, default=_encode).encode()
                self.send_response(status)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", str(body.get("__type", "")))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the server's request log is what tests read."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"fake-{self.target_prefix}", daemon=True
        )
        self._thread.start()
        host, port = self._httpd.server_address[:2]
        self.endpoint = f"http://{host!s}:{port}"
        return self.endpoint

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def answer(self, target: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Decode one request and dispatch it; protocol errors are answered here."""
        prefix, _, operation = target.partition(".")
        if prefix != self.target_prefix or not operation:
            return _error(AwsError("UnknownOperationException", f"unknown target {target!r}"))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _error(AwsError("SerializationException", "the body is not JSON"))
        if not isinstance(body, dict):
            return _error(AwsError("SerializationException", "the body is not a JSON object"))
        return self.dispatch(operation, body)


def _error(error: AwsError) -> tuple[int, dict[str, Any]]:
    return error.status, error_body(error)


def error_body(error: AwsError) -> dict[str, Any]:
    """The JSON 1.1 error document of ``error``."""
    return {"__type": error.code, "message": error.message}
