"""A gRPC server on 127.0.0.1 that serves plain handler functions, with fault injection.

Both fake Google services derive from :class:`LoopbackService`: they declare their RPCs
as :class:`Rpc` records (handler, message (de)serialisers, scope) and get a real
``grpc.server`` on a free loopback port, call counting, ``fail_next`` and ``deny``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc

from .faults import Faults, Scope

__all__ = ["LoopbackService", "Rpc", "RpcAbort", "project_of"]

_PROJECT = re.compile(r"^projects/([^/]+)")


class RpcAbort(Exception):
    """Raised by a handler to answer its call with a status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


def project_of(resource: str) -> str | None:
    """The ``P`` of a ``projects/P/...`` resource name, or None."""
    match = _PROJECT.match(resource)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Rpc:
    """One unary method of a service.

    Attributes:
        service: Full service name, e.g. ``google.cloud.aiplatform.v1.JobService``.
        name: Method name, e.g. ``CreateCustomJob``.
        handler: Turns the deserialised request into the response message.
        deserialize: Request bytes to message.
        serialize: Response message to bytes.
        scope: What the request touches, for :meth:`Faults.deny`.
    """

    service: str
    name: str
    handler: Callable[[Any], Any]
    deserialize: Callable[[bytes], Any]
    serialize: Callable[[Any], bytes]
    scope: Callable[[Any], Scope] = lambda request: Scope()


class LoopbackService:
    """Base of the fakes: a ``grpc.server`` bound to a free 127.0.0.1 port.

    Subclasses implement :meth:`rpcs`. ``start`` binds and serves; ``stop`` ends the
    server. Faults are armed through :meth:`fail_next` and :meth:`deny`.
    """

    def __init__(self, max_workers: int = 8) -> None:
        self.faults = Faults()
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._port = 0

    def rpcs(self) -> Sequence[Rpc]:
        """The methods this service answers."""
        raise NotImplementedError

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` of the running server (for ``grpc.insecure_channel``)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"127.0.0.1:{self._port}"

    def start(self) -> str:
        """Bind a free loopback port, serve, and return the address."""
        if self._server is not None:
            return self.address
        server = grpc.server(ThreadPoolExecutor(max_workers=self._max_workers))
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for rpc in self.rpcs():
            by_service.setdefault(rpc.service, {})[rpc.name] = grpc.unary_unary_rpc_method_handler(
                self._guarded(rpc),
                request_deserializer=rpc.deserialize,
                response_serializer=rpc.serialize,
            )
        server.add_generic_rpc_handlers(
            tuple(
                grpc.method_handlers_generic_handler(service, methods)
                for service, methods in by_service.items()
            )
        )
        self._port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self.address

    def stop(self) -> None:
        """Stop serving; calls in flight are cancelled."""
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None

    def _guarded(self, rpc: Rpc) -> Callable[[Any, grpc.ServicerContext], Any]:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                fault = self.faults.check(rpc.name, rpc.scope(request))
                if fault is not None:
                    raise RpcAbort(*fault)
                return rpc.handler(request)
            except RpcAbort as abort:
                context.abort(abort.code, abort.message)

        return serve

    def fail_next(
        self, method: str, code: grpc.StatusCode, n: int = 1, message: str | None = None
    ) -> None:
        """Answer the next ``n`` calls of ``method`` with ``code`` (see :class:`Faults`)."""
        self.faults.fail_next(method, code, n, message)

    def deny(
        self,
        code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED,
        *,
        project: str | None = None,
        service_account: str | None = None,
        message: str | None = None,
    ) -> None:
        """Deny every matching call until reset (see :meth:`Faults.deny`)."""
        self.faults.deny(code, project=project, service_account=service_account, message=message)

    def call_count(self, method: str) -> int:
        """How many calls of ``method`` arrived since the last reset, failed ones included."""
        return self.faults.call_count(method)
