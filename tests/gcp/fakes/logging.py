"""A fake Cloud Logging v2 ``LoggingServiceV2`` on 127.0.0.1, serving a :class:`LogStore`.

``ListLogEntries`` answers from the store the fake Vertex AI fills with its containers'
lines (``resource.type="ml_job"``, ``resource.labels.job_id``; stdout as INFO, stderr as
ERROR), so logs can be read while a job runs. ``WriteLogEntries`` adds text entries.

Paging: ``page_size`` 0 means 1000 (Cloud Logging's maximum, also applied to larger
sizes). ``next_page_token`` is set only when more matching entries exist at the time of the
call; it is a cursor (the last entry served), so entries appended later are still found by
following it, and it is only valid with the same filter, order and resource names.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import grpc
from google.api import monitored_resource_pb2
from google.cloud.logging_v2.types import LogEntry, logging
from google.logging.type import log_severity_pb2
from google.protobuf import timestamp_pb2

from .faults import Scope
from .filter_syntax import FilterError
from .grpc_loopback import LoopbackService, Rpc, RpcAbort, project_of
from .log_filter import SEVERITY_LEVELS, compile_log_filter
from .log_store import LogRecord, LogStore

__all__ = ["LOGGING_SERVICE", "FakeLogging"]

LOGGING_SERVICE = "google.logging.v2.LoggingServiceV2"
MAX_PAGE_SIZE = 1000


def _to_timestamp(timestamp_ns: int) -> timestamp_pb2.Timestamp:
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def to_log_entry(record: LogRecord) -> LogEntry:
    """The ``LogEntry`` message Cloud Logging would return for ``record``."""
    return LogEntry(
        log_name=record.log_name,
        resource=monitored_resource_pb2.MonitoredResource(
            type=record.resource_type, labels=dict(record.resource_labels)
        ),
        text_payload=record.text,
        timestamp=_to_timestamp(record.timestamp_ns),
        receive_timestamp=_to_timestamp(record.timestamp_ns),
        severity=SEVERITY_LEVELS.get(record.severity, 0),
        insert_id=record.insert_id,
        labels=dict(record.labels),
    )


class FakeLogging(LoopbackService):
    """Cloud Logging's ``ListLogEntries``/``WriteLogEntries`` over a shared :class:`LogStore`.

    Args:
        store: The records to serve, usually ``FakeVertex.log_store``.
    """

    def __init__(self, store: LogStore) -> None:
        super().__init__()
        self.store = store

    def rpcs(self) -> Sequence[Rpc]:
        """ListLogEntries and WriteLogEntries."""
        return (
            Rpc(
                LOGGING_SERVICE,
                "ListLogEntries",
                self._list_log_entries,
                logging.ListLogEntriesRequest.deserialize,
                logging.ListLogEntriesResponse.serialize,
                lambda request: Scope(project_of(next(iter(request.resource_names), ""))),
            ),
            Rpc(
                LOGGING_SERVICE,
                "WriteLogEntries",
                self._write_log_entries,
                logging.WriteLogEntriesRequest.deserialize,
                logging.WriteLogEntriesResponse.serialize,
                lambda request: Scope(project_of(request.log_name)),
            ),
        )

    def reset(self) -> None:
        """Forget faults and call counts (the store is left alone)."""
        self.faults.reset()

    def _list_log_entries(self, request: Any) -> Any:
        projects = {project_of(name) for name in request.resource_names}
        if not request.resource_names or None in projects:
            raise RpcAbort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "resource_names must list projects/PROJECT_ID names, got "
                f"{list(request.resource_names)}",
            )
        order = request.order_by.strip().lower() or "timestamp asc"
        if order not in ("timestamp asc", "timestamp desc"):
            raise RpcAbort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'order_by must be "timestamp asc" or "timestamp desc", got {request.order_by!r}',
            )
        try:
            matches = compile_log_filter(request.filter)
        except FilterError as error:
            raise RpcAbort(grpc.StatusCode.INVALID_ARGUMENT, f"filter: {error}") from error
        descending = order == "timestamp desc"
        query = hashlib.sha256(
            json.dumps([sorted(projects), request.filter, order]).encode()
        ).hexdigest()[:16]
        cursor = self._read_token(request.page_token, query)
        records = self.store.records()
        if descending:
            records.reverse()
        selected = [
            record
            for record in records
            if record.project in projects
            and (
                cursor is None
                or (record.sort_key < cursor if descending else record.sort_key > cursor)
            )
            and matches(record)
        ]
        size = request.page_size if 0 < request.page_size <= MAX_PAGE_SIZE else MAX_PAGE_SIZE
        page = selected[:size]
        token = self._make_token(page[-1].sort_key, query) if len(selected) > size else ""
        return logging.ListLogEntriesResponse(
            entries=[to_log_entry(record) for record in page], next_page_token=token
        )

    @staticmethod
    def _make_token(cursor: tuple[int, str], query: str) -> str:
        return base64.urlsafe_b64encode(json.dumps([cursor[0], cursor[1], query]).encode()).decode()

    @staticmethod
    def _read_token(token: str, query: str) -> tuple[int, str] | None:
        if not token:
            return None
        try:
            timestamp_ns, insert_id, token_query = json.loads(base64.urlsafe_b64decode(token))
        except (ValueError, TypeError) as error:
            raise RpcAbort(grpc.StatusCode.INVALID_ARGUMENT, "page_token is malformed") from error
        if token_query != query:
            raise RpcAbort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "page_token was issued for another filter, order_by or resource_names",
            )
        return (int(timestamp_ns), str(insert_id))

    def _write_log_entries(self, request: Any) -> Any:
        for index, entry in enumerate(request.entries):
            pb = LogEntry.pb(entry)
            log_name = entry.log_name or request.log_name
            project = project_of(log_name)
            if project is None or "/logs/" not in log_name:
                raise RpcAbort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"entries[{index}]: log_name must be projects/P/logs/LOG_ID, got {log_name!r}",
                )
            if pb.WhichOneof("payload") not in (None, "text_payload"):
                raise RpcAbort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"entries[{index}]: the fake stores text_payload entries only",
                )
            resource = pb.resource if pb.HasField("resource") else request.resource
            stamp = pb.timestamp
            self.store.append(
                project=project,
                log_id=unquote(log_name.split("/logs/", 1)[1]),
                resource_type=resource.type or "global",
                resource_labels=dict(resource.labels),
                severity=log_severity_pb2.LogSeverity.Name(pb.severity),
                text=pb.text_payload,
                labels={**request.labels, **pb.labels},
                timestamp_ns=(stamp.seconds * 1_000_000_000 + stamp.nanos) or None,
            )
        return logging.WriteLogEntriesResponse()
