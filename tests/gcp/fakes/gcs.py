"""The GCS emulator (PyPI ``gcp-storage-emulator``) run in process on 127.0.0.1.

Its HTTP server serves one request at a time and ignores page sizes. Its thread is not a
daemon: always :meth:`GcsEmulator.stop` it (the fixtures do), or the interpreter hangs at
exit. Jobs in ``network_mode=host`` containers reach it at :attr:`GcsEmulator.endpoint`
(JSON API: ``POST {endpoint}/upload/storage/v1/b/BUCKET/o?uploadType=media&name=OBJECT``).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

__all__ = ["GcsEmulator", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class GcsEmulator:
    """An in-memory GCS emulator on a free loopback port.

    Args:
        project: Project of the clients made by :meth:`client`.
    """

    def __init__(self, project: str = "fake-project") -> None:
        self.project = project
        self._server: Any = None
        self._port = 0

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the client's ``api_endpoint`` or ``STORAGE_EMULATOR_HOST``."""
        if self._server is None:
            raise RuntimeError("the GCS emulator is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self, attempts: int = 3) -> str:
        """Start on a free port (another one if the port was taken meanwhile); return the endpoint.

        Raises:
            RuntimeError: If the emulator did not come up.
        """
        from gcp_storage_emulator.server import create_server

        for _ in range(attempts):
            port = free_port()
            server = create_server("127.0.0.1", port, in_memory=True)
            # The emulator binds in its thread and only sets ``is_running`` on success, so a
            # lost port race shows as a dead thread: watch both rather than wait forever.
            api = server._api
            api.start()
            deadline = time.monotonic() + 10
            while not api.is_running.wait(0.05) and api.is_alive():
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError(f"the GCS emulator did not start on 127.0.0.1:{port}")
            if api.is_running.is_set():
                self._server, self._port = server, port
                return self.endpoint
        raise RuntimeError(f"the GCS emulator found no free port in {attempts} attempts")

    def stop(self) -> None:
        """Shut the HTTP server down and let its thread end."""
        if self._server is not None:
            self._server.stop()
            # The emulator's thread overrides join() to mean "shut down"; wait for the
            # thread itself with the base class's join.
            threading.Thread.join(self._server._api, timeout=5)
            self._server = None

    def wipe(self) -> None:
        """Delete every bucket and object."""
        if self._server is not None:
            self._server.wipe()

    def client(self, project: str | None = None) -> Any:
        """A real ``google.cloud.storage.Client`` talking to this emulator anonymously."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=project or self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def create_bucket(self, name: str) -> Any:
        """Create a bucket (through the real client) and return it."""
        return self.client().create_bucket(name)
