"""The live progress display of ``flowyml run`` and its final summary table."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from flowyml.results import ExecutionResult
from flowyml.run_listener import RunListener

__all__ = ["ProgressDisplay", "format_duration", "render_table"]

_SYMBOLS = {"success": "✓", "cached": "↺", "skipped": "-", "failed": "✗", "cancelled": "⊘"}


def format_duration(seconds: float | None) -> str:
    """Short human duration: ``412µs``, ``3.2ms``, ``1.25s``, ``2m03s``."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


class ProgressDisplay(RunListener):
    """Shows one line per running step with its elapsed time, and each step as it ends.

    On a terminal the running lines are redrawn in place ten times a second; otherwise a
    line is printed per event.
    """

    def __init__(self, stream: TextIO | None = None, refresh: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.refresh = refresh
        self.running: dict[str, float] = {}
        self.total = 0
        self.finished = 0
        self._drawn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_started(self, run_id: str, pipeline: str, backend: str, steps: list[str]) -> None:
        self.total = len(steps)
        self._write(f"run {run_id}: pipeline '{pipeline}' on '{backend}', {len(steps)} steps\n")
        if self.live:
            self._thread = threading.Thread(target=self._refresh_loop, daemon=True)
            self._thread.start()

    def step_started(self, step_name: str) -> None:
        with self._lock:
            self.running[step_name] = time.monotonic()
            if not self.live:
                self._write(f"  … {step_name} started\n")

    def step_finished(self, result: ExecutionResult) -> None:
        with self._lock:
            self.running.pop(result.step_name, None)
            self.finished += 1
            status = result.status.value
            line = (
                f"  {_SYMBOLS.get(status, '?')} {result.step_name} {status} "
                f"in {format_duration(result.duration_seconds)}"
            )
            if result.error:
                line += f": {result.error.splitlines()[0] if result.error else ''}"
            self._clear()
            self._write(line + "\n")
            self._draw()

    def run_finished(self, run_id: str, status: str) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._clear()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh):
            with self._lock:
                self._clear()
                self._draw()

    def _clear(self) -> None:
        if self.live and self._drawn:
            self._write("\x1b[1A\x1b[2K" * self._drawn)
            self._drawn = 0

    def _draw(self) -> None:
        if not self.live:
            return
        now = time.monotonic()
        lines = [
            f"  ⠿ {name} running {format_duration(now - since)}"
            for name, since in list(self.running.items())[:20]
        ]
        lines.append(f"  [{self.finished}/{self.total} steps done]")
        self._write("\n".join(lines) + "\n")
        self._drawn = len(lines)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
