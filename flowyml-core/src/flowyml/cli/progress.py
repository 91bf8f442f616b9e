"""The live progress display of ``flowyml run`` and its final summary table.

On a terminal, :class:`ProgressDisplay` keeps a live region at the bottom (rich's
``Live``): the running steps with their elapsed time, as many as the terminal's height
allows and a count of the others, then how many steps are done. Finished steps and what
steps print go above it, once each, as permanent lines; they are gathered and drawn ten
times a second with the region, so a run of thousands of quick steps is not slowed by
redrawing it for each. Anywhere else (a pipe, a file, a CI log) it prints one plain line
per event, without control codes. rich is imported only to draw on a terminal, so the
other commands never pay for it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, TextIO

from flowyml.records.listener import RunListener

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.live import Live
    from rich.text import Text

    from flowyml.records.results import ExecutionResult

__all__ = ["ProgressDisplay", "format_duration", "render_table"]

_SYMBOLS = {"success": "✓", "cached": "↺", "skipped": "-", "failed": "✗", "cancelled": "⊘"}
_STYLES = {"success": "green", "cached": "cyan", "skipped": "dim", "failed": "red bold"}
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_REFRESH_PER_SECOND = 10


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


def finished_line(result: ExecutionResult) -> str:
    """The line telling how a step ended: ``  ✓ train success in 1.25s``."""
    status = result.status.value
    line = (
        f"  {_SYMBOLS.get(status, '?')} {result.step_name} {status} "
        f"in {format_duration(result.duration_seconds)}"
    )
    if result.error:
        line += f": {result.error.splitlines()[0]}"
    return line


class ProgressDisplay(RunListener):
    """Shows a run's progress, and what its steps print, as it goes.

    Each line a step prints is shown once, prefixed by the step's name
    (``[train] epoch 1 loss 0.3``), between the step's start and its end.

    Args:
        stream: where to write (default: stderr). A terminal gets the live display;
            anything else gets one plain line per event.
        console: a rich ``Console`` to draw the live display on (and to write to),
            whatever ``stream`` is.
        progress: show the run's progress; ``False`` shows only what steps print.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        console: Console | None = None,
        progress: bool = True,
    ) -> None:
        self.stream: IO[str] = stream or (console.file if console is not None else sys.stderr)
        self.progress = progress
        self.live = progress and (console is not None or _is_terminal(self.stream))
        self.running: dict[str, float] = {}  # step -> when it started (monotonic)
        self.total = 0
        self.finished = 0
        self._console = console
        # Stray writes to the process's stdout and stderr (another thread, a backend that
        # prints its jobs' lines) would tear a live region drawn on its terminal: rich
        # prints them above it while the run is shown. Not for a console given to us.
        self._redirect = console is None
        self._live_region: Live | None = None
        self._lines: list[Text] = []  # permanent lines not drawn yet
        self._lock = threading.Lock()  # the state above; never held while drawing
        self._drawing = threading.Lock()  # one batch of lines at a time, in order
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- RunListener ----------------------------------------------------------------------
    def run_started(self, run_id: str, pipeline: str, backend: str, steps: list[str]) -> None:
        with self._lock:
            self.total, self.finished = len(steps), 0
            self.running.clear()
        if self.live:
            self._start()
        if self.progress:
            self._print(f"run {run_id}: pipeline '{pipeline}' on '{backend}', {len(steps)} steps")

    def step_started(self, step_name: str) -> None:
        with self._lock:
            self.running[step_name] = time.monotonic()
        if self.progress and not self.live:
            self._print(f"  … {step_name} started")

    def step_finished(self, result: ExecutionResult) -> None:
        with self._lock:
            self.running.pop(result.step_name, None)
            self.finished += 1
        if self.progress:
            self._print(finished_line(result), _STYLES.get(result.status.value, "yellow"))

    def step_output(self, step_name: str, text: str) -> None:
        for line in text.splitlines():
            self._print(f"[{step_name}] {line}", from_step=True)

    def run_finished(self, run_id: str, status: str) -> None:
        self.close()

    # -- the live region ------------------------------------------------------------------
    def refresh(self) -> None:
        """Draw the waiting lines and the running steps now, not at the next tick."""
        with self._drawing:
            with self._lock:
                live = self._live_region
                lines, self._lines = self._lines, []
            if live is not None:
                self._draw(live, lines)

    def close(self) -> None:
        """Draw what is left and take the live region off the terminal; later events print
        plain lines."""
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._drawing:
            with self._lock:
                live, self._live_region = self._live_region, None
                lines, self._lines = self._lines, []
            if live is not None:
                self._draw(live, lines)
                live.stop()

    def _start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        if self._console is None:
            self._console = Console(file=self.stream, highlight=False)
        self._live_region = Live(
            _Fresh(self._render),
            console=self._console,
            auto_refresh=False,  # the ticker below draws, with the lines gathered meanwhile
            transient=True,  # finished steps are printed above: the region only goes away
            redirect_stdout=self._redirect,
            redirect_stderr=self._redirect,
        )
        self._live_region.start()
        self._stopped.clear()
        self._ticker = threading.Thread(target=self._tick, name="flowyml-progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stopped.wait(1 / _REFRESH_PER_SECOND):
            self.refresh()

    @staticmethod
    def _draw(live: Live, lines: list[Text]) -> None:
        if lines:
            from rich.console import Group

            live.console.print(Group(*lines), soft_wrap=True)  # redraws the region after them
        else:
            live.refresh()

    def _render(self) -> RenderableType:
        """The running steps that fit the terminal, a count of the rest, the steps done.

        Every row is one terminal line (long names are cut, never wrapped), and the region
        stays shorter than the terminal: rich can then redraw it in place, and nothing of
        it is ever left behind in the scrollback.
        """
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self._lock:
            running = list(self.running.items())
            finished, total = self.finished, self.total
        assert self._console is not None
        width, height = self._console.size
        room = max(0, height - 2)  # leaves the footer and the cursor's line
        shown = running if len(running) <= room else running[: max(0, room - 1)]
        frame = _SPINNER[int(now * _REFRESH_PER_SECOND) % len(_SPINNER)]
        # Text rows, not a Table: a tenth of the drawing time, which a big run pays often.
        name_width = max((len(name) for name, _ in shown), default=0)
        name_width = max(1, min(name_width, width - 14))  # "  ⠋ " + name + " " + 8 + margin
        rows: list[RenderableType] = []
        for name, since in shown:
            row = Text(f"  {frame} ", style="cyan", no_wrap=True, overflow="ellipsis")
            cell = Text(name)
            cell.truncate(name_width, overflow="ellipsis", pad=True)
            row.append_text(cell)
            row.append(f" {format_duration(now - since):>8}", style="dim")
            rows.append(row)
        if len(shown) < len(running):
            more = f"  … and {len(running) - len(shown)} more running"
            rows.append(Text(more, no_wrap=True, overflow="ellipsis"))
        footer = Table.grid(padding=(0, 1))
        footer.add_row(
            Text(" "),
            ProgressBar(total=max(total, 1), completed=finished, width=20),
            Text(f"{finished}/{total} steps done", no_wrap=True, overflow="ellipsis"),
        )
        rows.append(footer)
        return Group(*rows)

    # -- writing --------------------------------------------------------------------------
    def _print(self, line: str, style: str | None = None, *, from_step: bool = False) -> None:
        """One permanent line: above the live region at its next drawing, or plain now."""
        if not self.live:
            with self._lock:
                self.stream.write(line + "\n")
                self.stream.flush()
            return
        from rich.text import Text

        # A step's own colours and carriage returns are kept as a terminal would show
        # them, and its brackets are not taken for markup.
        if from_step:
            text = Text.from_ansi(line)
        else:
            text = Text(line)
            if style:
                text.stylize(style, 2, 3)  # the status symbol
        with self._lock:
            if self._live_region is not None:
                self._lines.append(text)
                return
        with self._lock:  # the region is gone (the run ended): plain
            self.stream.write(line + "\n")
            self.stream.flush()


class _Fresh:
    """A renderable made anew each time rich draws it.

    rich keeps the region's renderable and draws it again below every batch of lines it
    prints above: built on each drawing, the region never shows a step that has ended.
    """

    def __init__(self, render: Callable[[], RenderableType]) -> None:
        self._render = render

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._render()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False
