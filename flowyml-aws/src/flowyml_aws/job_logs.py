"""Reading a training job's lines from CloudWatch Logs, once or as they arrive.

SageMaker writes what a job's container prints to the log group
``/aws/sagemaker/TrainingJobs``, one stream per instance named ``<job>/algo-1-<epoch>``. A
:class:`LogCursor` remembers each stream's forward token, so polling again returns each
line exactly once, in order; the streams are listed only until one is found, and once
more after the job ended (a restarted instance opens a new one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowyml.backend import BackendError, LogEntry
from flowyml_aws.clients import AwsClients, error_code

__all__ = ["LOG_GROUP", "LogCursor"]

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def _entry(event: dict[str, Any], group: str | None) -> LogEntry:
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat()
    return LogEntry(str(event["message"]).rstrip("\n"), group, "INFO", stamp)


class LogCursor:
    """How far one job's CloudWatch streams were read.

    Args:
        job_name: the training job.
        group: the step group, for the entries.
    """

    def __init__(self, job_name: str, group: str | None = None) -> None:
        self.job_name = job_name
        self.group = group
        self._tokens: dict[str, str | None] = {}

    def _list_streams(self, clients: AwsClients) -> None:
        try:
            answer = clients.call(
                "logs",
                "describe_log_streams",
                f"list the log streams of training job {self.job_name}",
                logGroupName=LOG_GROUP,
                logStreamNamePrefix=f"{self.job_name}/",
            )
        except BackendError as exc:
            if error_code(exc.__cause__) == "ResourceNotFoundException":
                return  # no job of the account has logged yet
            raise
        for stream in answer.get("logStreams", []):
            self._tokens.setdefault(stream["logStreamName"], None)

    def poll(self, clients: AwsClients, *, relist: bool = False) -> list[LogEntry]:
        """The lines written since the previous poll, oldest first.

        Args:
            clients: the AWS clients.
            relist: list the streams again even when one is known (after the job ended).
        """
        if relist or not self._tokens:
            self._list_streams(clients)
        entries: list[LogEntry] = []
        for stream in sorted(self._tokens):
            while True:
                request: dict[str, Any] = {
                    "logGroupName": LOG_GROUP,
                    "logStreamName": stream,
                    "startFromHead": True,
                }
                token = self._tokens[stream]
                if token:
                    request["nextToken"] = token
                answer = clients.call(
                    "logs",
                    "get_log_events",
                    f"read the log of training job {self.job_name}",
                    **request,
                )
                events = answer.get("events", [])
                entries += [_entry(e, self.group) for e in events if e.get("message")]
                self._tokens[stream] = answer.get("nextForwardToken", token)
                if not events or answer.get("nextForwardToken") == token:
                    break
        return entries
