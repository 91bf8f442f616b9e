"""Starting and stopping `flowyml ui`: the errors a user meets, and a clean Ctrl-C."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
from conftest import Cli, UiServer


def test_a_port_in_use_is_a_clear_error(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli.run("ui", "--port", str(port), timeout=30)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr


def test_outside_a_project_the_command_says_so(cli: Cli, tmp_path_factory) -> None:
    empty = tmp_path_factory.mktemp("nowhere")
    result = cli.run("ui", "--project", str(empty), "--port", "0", timeout=30)
    assert result.returncode == 2
    assert "no FlowyML project here" in result.stderr


def test_ctrl_c_ends_the_server_promptly_even_with_streams_open(cli: Cli, ui: UiServer) -> None:
    opened = threading.Event()

    def follow() -> None:
        with httpx.stream("GET", ui.api("/api/runs/stream"), timeout=30) as events:
            for _ in events.iter_lines():
                opened.set()

    threading.Thread(target=follow, daemon=True).start()
    assert opened.wait(10)
    started = time.monotonic()
    ui.process.send_signal(signal.SIGINT)
    assert ui.process.wait(10) == 130  # 128 + SIGINT, as for the other commands
    assert time.monotonic() - started < 3
    assert ui.process.stderr is not None
    assert "Traceback" not in ui.process.stderr.read()
