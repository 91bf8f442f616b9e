"""A container's output, kept in memory from its start until its pod is deleted.

The kubelet keeps a finished container's log until the pod goes; the fake removes the
Docker container as soon as it exits (so nothing lingers on the shared engine) and serves
the log from here instead. ``follow`` readers block on a condition until new lines come
or the container has exited and every line was read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

__all__ = ["LogBuffer"]


class LogBuffer:
    """Lines (stdout and stderr interleaved, as ``kubectl logs`` shows them) with times."""

    def __init__(self) -> None:
        self._lines: list[tuple[str, bytes]] = []
        self._pending = {"stdout": b"", "stderr": b""}
        self._closed = False
        self._cond = threading.Condition()

    def feed(self, stream: str, chunk: bytes) -> None:
        """Add a chunk of one stream; complete lines become readable at once."""
        with self._cond:
            *lines, self._pending[stream] = (self._pending[stream] + chunk).split(b"\n")
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
            self._lines.extend((stamp, line + b"\n") for line in lines)
            self._cond.notify_all()

    def close(self) -> None:
        """The container exited: flush unterminated lines and release followers."""
        with self._cond:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
            for stream, rest in self._pending.items():
                if rest:
                    self._lines.append((stamp, rest))
                self._pending[stream] = b""
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether the container has exited and its output is complete."""
        return self._closed

    def read(
        self,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        stop: threading.Event | None = None,
    ) -> Iterator[bytes]:
        """The log as chunks; with ``follow``, until the container exits (or ``stop``)."""
        with self._cond:
            start = max(0, len(self._lines) - tail) if tail is not None else 0
        index = start
        while True:
            with self._cond:
                while follow and index >= len(self._lines) and not self._closed:
                    if stop is not None and stop.is_set():
                        break
                    self._cond.wait(0.5)
                fresh = self._lines[index:]
                index = len(self._lines)
                done = not follow or self._closed or (stop is not None and stop.is_set())
            for stamp, line in fresh:
                yield (stamp.encode() + b" " + line) if timestamps else line
            if done:
                return
