"""``flowyml ui``: open the project, bind the port, print the address and serve."""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
import time
import webbrowser
from pathlib import Path

from flowyml.backend import FlowyMLError, Project, open_project
from flowyml_ui.access import Access
from flowyml_ui.errors import UiError

__all__ = ["UiError", "bind", "find_project", "serve"]

# What makes a folder a FlowyML project (the core's markers, and a run store).
_PROJECT_MARKERS = ("flowyml.yaml", "pyproject.toml", ".git", ".flowyml")


def find_project(start: Path | None) -> Project:
    """The project holding ``start`` (default: ``FLOWYML_PROJECT``, else the working
    directory).

    Raises:
        UiError: no folder from ``start`` upwards is a project, or its configuration is bad.
    """
    here = (start or Path(os.environ.get("FLOWYML_PROJECT") or Path.cwd())).resolve()
    if not here.is_dir():
        raise UiError(f"no such folder: {here}")
    if not any((folder / m).exists() for folder in (here, *here.parents) for m in _PROJECT_MARKERS):
        raise UiError(
            f"no FlowyML project here: looked for {', '.join(_PROJECT_MARKERS)} in {here} and"
            " its parent folders; run it in a project or pass --project"
        )
    try:
        return open_project(here)
    except FlowyMLError as exc:
        raise UiError(str(exc)) from exc


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (port 0: any free port).

    Raises:
        UiError: the address is unknown, or the port is in use or not allowed.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UiError(f"cannot bind to host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UiError(
                f"port {port} on {host} is in use: pass another --port (or --port 0 for any"
                " free one)"
            ) from None
        raise UiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    host: str,
    port: int,
    open_browser: bool,
    allow_stop: bool,
    token: str | None,
    project: Path | None,
) -> None:
    """Serve the page until interrupted (Ctrl-C).

    Raises:
        UiError: no project, a bad host, or the port is taken.
    """
    import uvicorn

    from flowyml_ui.app import create_app

    found = find_project(project)
    access = Access.create(host, token, allow_stop)
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}/"
    if not access.loopback:
        url += f"?token={access.token}"
        print(f"flowyml ui: {host} is not loopback; the address below carries the token")
    print(f"flowyml ui: runs of {found.root}")
    print(f"flowyml ui: serving at {url}", flush=True)
    servers: list[uvicorn.Server] = []
    config = uvicorn.Config(
        create_app(found, access, stopping=lambda: bool(servers and servers[0].should_exit)),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    servers.append(server)
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()


def _open_when_started(server: object, url: str) -> None:
    deadline = time.monotonic() + 30
    while not getattr(server, "started", False) and time.monotonic() < deadline:
        time.sleep(0.05)
    webbrowser.open(url)
