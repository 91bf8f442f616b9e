"""Ships a training job's output into CloudWatch Logs (moto's), as SageMaker does.

SageMaker writes each instance's stdout and stderr, one event per line, to log group
``/aws/sagemaker/TrainingJobs``, stream ``<job name>/algo-<n>-<epoch seconds>``. The fake
writes them the same way through a real boto3 ``logs`` client to the moto server, so a
backend reads them with ``get_log_events`` / ``filter_log_events`` exactly as in AWS.

Lines are queued as they arrive and sent in batches by one thread per job, so a chatty
container is not slowed to one HTTP call per line; :meth:`LogShipper.close` returns only
once every line is stored.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Any

__all__ = ["LOG_GROUP", "LogShipper", "stream_name"]

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
_MAX_BATCH = 1000  # PutLogEvents' limit of events per call


def stream_name(job_name: str, started: float | None = None) -> str:
    """``<job>/algo-1-<epoch seconds>``, the stream of the job's single instance."""
    return f"{job_name}/algo-1-{int(started if started is not None else time.time())}"


class LogShipper:
    """One job's log stream: ``write`` lines while it runs, ``close`` when it has exited.

    Args:
        client: A boto3 ``logs`` client of the moto server.
        stream: The log stream name.
    """

    def __init__(self, client: Any, stream: str) -> None:
        self.client = client
        self.stream = stream
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._last_ms = 0
        self._thread = threading.Thread(target=self._run, name=f"logs-{stream}", daemon=True)

    def open(self) -> None:
        """Create the group (once) and the stream, and start sending."""
        # Created by an earlier job: what we wanted.
        with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
            self.client.create_log_group(logGroupName=LOG_GROUP)
        self.client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=self.stream)
        self._thread.start()

    def write(self, text: str) -> None:
        """Queue one line; its timestamp is now (never before the previous line's).

        Empty lines are dropped: CloudWatch Logs refuses empty messages.
        """
        if not text:
            return
        self._last_ms = max(self._last_ms, int(time.time() * 1000))
        self._queue.put({"timestamp": self._last_ms, "message": text})

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued and stop; return once every line is stored."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        done = False
        while not done:
            batch: list[dict[str, Any]] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) == _MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if batch:
                self.client.put_log_events(
                    logGroupName=LOG_GROUP, logStreamName=self.stream, logEvents=batch
                )
