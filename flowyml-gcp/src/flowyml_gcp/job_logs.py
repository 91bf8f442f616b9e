"""Reading a CustomJob's log lines from Cloud Logging, once or as they arrive.

Vertex AI writes what a job's containers print to Cloud Logging under the resource
``ml_job`` with the label ``job_id`` (the number ending the job's resource name). A
:class:`LogCursor` remembers how far a job's log was read — the last timestamp and the
ids of the entries seen at it — so that polling again returns each line exactly once,
in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowyml.backend import LogEntry
from flowyml_gcp.api import GoogleApis

__all__ = ["LogCursor", "entry_dict", "job_filter", "job_number", "read_entries"]


def job_number(job_name: str) -> str:
    """The numeric id ending ``projects/P/locations/R/customJobs/ID``."""
    return job_name.rstrip("/").rsplit("/", 1)[-1]


def job_filter(job_name: str) -> str:
    """The Cloud Logging filter selecting one CustomJob's entries."""
    return f'resource.type="ml_job" AND resource.labels.job_id="{job_number(job_name)}"'


def _timestamp(entry: Any) -> datetime:
    stamp = entry.timestamp
    if isinstance(stamp, datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, UTC)  # a protobuf one


def entry_dict(entry: Any, group: str | None = None) -> LogEntry:
    """A Cloud Logging ``LogEntry`` as a run's log entry."""
    message = entry.text_payload
    if not message and entry.json_payload:
        payload = dict(entry.json_payload)
        message = str(payload.get("message", payload))
    severity = getattr(entry.severity, "name", str(entry.severity))
    return LogEntry(
        message.rstrip("\n"),
        group,
        "DEFAULT" if severity in ("", "0") else severity,
        _timestamp(entry).isoformat(),
    )


def read_entries(
    apis: GoogleApis,
    job_name: str,
    *,
    since: str | None = None,
    newest_first: bool = False,
    max_entries: int | None = None,
) -> list[Any]:
    """A job's ``LogEntry`` messages, oldest first unless ``newest_first``.

    Args:
        apis: the clients.
        job_name: the CustomJob resource name.
        since: only entries at or after this RFC 3339 timestamp.
        newest_first: ask for the newest entries first (to read the tail).
        max_entries: stop after this many.

    Raises:
        BackendError: Cloud Logging refused the request.
    """
    from google.cloud.logging_v2.types import ListLogEntriesRequest

    query = job_filter(job_name)
    if since:
        query += f' AND timestamp>="{since}"'
    page_size = min(max_entries or 1000, 1000)
    request = ListLogEntriesRequest(
        resource_names=[f"projects/{apis.config.project_id}"],
        filter=query,
        order_by="timestamp desc" if newest_first else "timestamp asc",
        page_size=page_size,
    )
    client = apis.logging()
    pager = apis.call(
        "ListLogEntries",
        client.list_log_entries,
        f"read the logs of job {job_name}",
        request=request,
    )
    entries: list[Any] = []
    for page in pager.pages:
        entries.extend(page.entries)
        if max_entries is not None and len(entries) >= max_entries:
            return entries[:max_entries]
        if page.next_page_token:
            apis.counter.add("ListLogEntries")
    return entries


@dataclass
class LogCursor:
    """How far one job's log has been read.

    Attributes:
        job_name: the CustomJob resource name.
        group: the step group the job runs (added to each entry).
        last: the timestamp of the newest entry returned.
        seen_at_last: insert ids of the entries returned with that timestamp.
    """

    job_name: str
    group: str | None = None
    last: datetime | None = None
    seen_at_last: set[str] = field(default_factory=set)

    def poll(self, apis: GoogleApis) -> list[LogEntry]:
        """The entries that arrived since the previous poll, oldest first."""
        since = self.last.isoformat().replace("+00:00", "Z") if self.last else None
        fresh: list[LogEntry] = []
        for entry in read_entries(apis, self.job_name, since=since):
            stamp = _timestamp(entry)
            key = entry.insert_id or f"{stamp.isoformat()}|{entry.text_payload}"
            if self.last is not None and stamp < self.last:
                continue  # a server that ignores the timestamp filter
            if self.last is not None and stamp == self.last and key in self.seen_at_last:
                continue
            if self.last is None or stamp > self.last:
                self.last, self.seen_at_last = stamp, set()
            self.seen_at_last.add(key)
            fresh.append(entry_dict(entry, self.group))
        return fresh
