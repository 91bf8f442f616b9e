"""The event streams: what they send, and that a disconnect or a finished run ends them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

from flowyml.backend import ExecutionStatus, open_project
from flowyml_ui.streams import run_events, runs_events


class Browser:
    """The part of a request a stream reads: whether the browser went away, here after
    ``polls`` questions."""

    def __init__(self, polls: int) -> None:
        self.polls = polls

    async def is_disconnected(self) -> bool:
        self.polls -= 1
        return self.polls < 0


def _collect(events: Any) -> list[tuple[str, Any]]:
    async def collect() -> list[tuple[str, Any]]:
        out = []
        async for chunk in events:
            if chunk.startswith(":"):
                continue
            lines = dict(line.split(": ", 1) for line in chunk.strip().splitlines())
            out.append((lines["event"], json.loads(lines["data"])))
        return out

    # In a thread of its own: Playwright's sync API keeps an event loop in the main thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, collect).result(timeout=60)


@pytest.fixture
def store(project: Path) -> Any:
    return open_project(project).run_store


def test_a_disconnected_browser_ends_the_runs_stream(store: Any) -> None:
    sent = _collect(runs_events(Browser(3), store, None, None, 20, 0.01, lambda: False))
    # Three polls of an unchanged store: one event, then nothing until the disconnect.
    assert sent == [("runs", [])]


def test_a_finished_runs_stream_sends_its_steps_and_logs_then_ends(store: Any) -> None:
    store.create_run("r1", "p", "local", {})
    store.step_started("r1", "s", 1.0)
    store.append_log("r1", "s", "hello <b>\n")
    store.finish_run("r1", ExecutionStatus.SUCCESS)
    sent = _collect(run_events(Browser(100), store, "r1", 0, 0.01, lambda: False))
    kinds = [kind for kind, _ in sent]
    assert kinds == ["run", "steps", "logs", "end"]
    assert sent[2][1][0]["text"] == "hello <b>\n"
    # A reconnecting browser passes the last row's id: nothing is sent twice.
    after = sent[2][1][-1]["id"]
    again = _collect(run_events(Browser(100), store, "r1", after, 0.01, lambda: False))
    assert [kind for kind, _ in again] == ["run", "steps", "end"]
