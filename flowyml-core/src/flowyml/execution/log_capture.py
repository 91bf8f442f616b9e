"""Per-step capture of stdout and stderr that stays correct under concurrency.

While captures are active, ``sys.stdout`` and ``sys.stderr`` are replaced once by a
routing stream that sends each write to the buffer of the step running in the current
thread (a context variable), or to the original stream when no step is running there.
Concurrent steps never see each other's output.

A step whose log echoes (``echo_logs``) also passes its output on as it is written: to the
original stream, or, inside :meth:`StepOutput.capture`, to a run listener's
``step_output`` in whole lines named by the step.

While a run is recorded in this process (:func:`recording_live_output`), what its steps
print also goes to the run store as it comes (``RunStore.append_live``): from steps run
here, and from the output of other processes, containers and jobs that executors read
(:func:`live_output`).
"""

from __future__ import annotations

import contextvars
import io
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = [
    "StepLog",
    "StepOutput",
    "capture_step_output",
    "end_capture",
    "live_output",
    "live_sink",
    "recording_live_output",
    "start_capture",
]

_current: contextvars.ContextVar[StepLog | None] = contextvars.ContextVar(
    "flowyml_step_log", default=None
)
# Where the echo of the step running in this context goes: a relay and the step's name.
_relay: contextvars.ContextVar[tuple[StepOutput, str] | None] = contextvars.ContextVar(
    "flowyml_step_output", default=None
)
_install_lock = threading.Lock()
_install_count = 0
# The live output of each run recorded in this process, by run id.
_live: dict[str, StepOutput] = {}


class StepLog:
    """The captured output of one step execution.

    Args:
        echo: also write everything to the original stream.
        live: also pass everything to this relay as it comes, under ``name``.
        name: the step's name in ``live``.
    """

    def __init__(self, echo: bool = False, live: StepOutput | None = None, name: str = "") -> None:
        # Appending to a list is atomic, so threads a step starts may print at once; no
        # buffer object or lock is made for the many steps that print nothing.
        self._parts: list[str] = []
        self.echo = echo
        self._live = live
        self._name = name
        self._relayed = False  # something went to the live relay

    def write(self, text: str) -> None:
        """Append text."""
        if not isinstance(text, str):  # as a text stream refuses it, before it is kept
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._parts.append(text)
        if self._live is not None:
            self._relayed = True
            self._live.write(self._name, text)

    def end(self) -> None:
        """The step ended: deliver its unfinished last line to the live relay."""
        if self._relayed and self._live is not None:
            self._live.flush(self._name)

    def getvalue(self) -> str:
        """Everything captured so far."""
        return "".join(self._parts)


class StepOutput:
    """Passes what steps print to ``deliver(name, text)`` in whole lines, as it comes.

    ``Pipeline.run`` hands one to the executor (its ``step_output`` attribute) when the
    caller gave a listener; ``deliver`` is then the listener's ``step_output``. Output read
    from another process goes through :meth:`write`; an in-process step runs inside
    :meth:`capture`, which sends its echoed output here. Text is held until its line ends,
    so a listener never sees half a line; :meth:`flush` delivers an unfinished last line.

    Args:
        deliver: receives a step's (or group's) name and one or more whole lines.
    """

    def __init__(self, deliver: Callable[[str, str], None]) -> None:
        self._deliver = deliver
        self._pending: dict[str, str] = {}
        # Held while delivering too: a step's lines reach the listener in the order printed.
        self._lock = threading.Lock()

    def write(self, name: str, text: str) -> None:
        """Add what step (or group) ``name`` printed; its whole lines are delivered now."""
        with self._lock:
            head, newline, tail = (self._pending.pop(name, "") + text).rpartition("\n")
            if tail:
                self._pending[name] = tail
            if newline:
                self._send(name, head + newline)

    def flush(self, name: str) -> None:
        """Deliver what ``name`` printed after its last newline, ending the line."""
        with self._lock:
            tail = self._pending.pop(name, "")
            if tail:
                self._send(name, tail + "\n")

    @contextmanager
    def capture(self, name: str) -> Iterator[None]:
        """Send the echoed output of a step run in this context to :meth:`write`, as
        ``name``, for the duration; its unfinished last line is delivered at the end."""
        token = _relay.set((self, name))
        try:
            yield
        finally:
            _relay.reset(token)
            self.flush(name)

    def flush_all(self) -> None:
        """Deliver every unfinished last line."""
        with self._lock:
            pending, self._pending = self._pending, {}
            for name, tail in pending.items():
                self._send(name, tail + "\n")

    def _send(self, name: str, text: str) -> None:
        # Delivered outside the step's capture: what the listener prints must reach the
        # console, not the step's own log (and its echo, here again).
        token = _current.set(None)
        try:
            self._deliver(name, text)
        finally:
            _current.reset(token)


class _RoutingStream(io.TextIOBase):
    def __init__(self, original: TextIO) -> None:
        self._original = original

    @property
    def original(self) -> TextIO:
        """The stream this one routes to when no step runs in the current thread."""
        return self._original

    def write(self, text: str) -> int:
        log = _current.get()
        if log is None:
            return self._original.write(text)
        log.write(text)
        if log.echo:
            relay = _relay.get()
            if relay is None:
                self._original.write(text)
            else:
                relay[0].write(relay[1], text)
        return len(text)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def _install() -> None:
    global _install_count
    with _install_lock:
        # Checked on every install, not only the first: a test runner or an application may
        # have replaced the streams since (an abandoned timed-out step can keep the count up).
        if not isinstance(sys.stdout, _RoutingStream):
            sys.stdout = _RoutingStream(sys.stdout)
        if not isinstance(sys.stderr, _RoutingStream):
            sys.stderr = _RoutingStream(sys.stderr)
        _install_count += 1


def _uninstall() -> None:
    global _install_count
    with _install_lock:
        _install_count -= 1
        if _install_count == 0:
            # Only unwrap what we installed: someone else may have replaced it since.
            if isinstance(sys.stdout, _RoutingStream):
                sys.stdout = sys.stdout.original
            if isinstance(sys.stderr, _RoutingStream):
                sys.stderr = sys.stderr.original


@contextmanager
def routing_installed() -> Iterator[None]:
    """Keep the routing streams installed for the duration (one run)."""
    _install()
    try:
        yield
    finally:
        _uninstall()


@contextmanager
def capture_step_output(log: StepLog) -> Iterator[StepLog]:
    """Send this thread's stdout and stderr to ``log`` for the duration."""
    token = start_capture(log)
    try:
        yield log
    finally:
        end_capture(token)


def start_capture(log: StepLog) -> contextvars.Token[StepLog | None]:
    """Send this thread's stdout and stderr to ``log`` until :func:`end_capture`: what
    :func:`capture_step_output` does, without a generator, for the per-step path."""
    _install()
    return _current.set(log)


def end_capture(token: contextvars.Token[StepLog | None]) -> None:
    """End the capture :func:`start_capture` began (``token`` is what it returned)."""
    _current.reset(token)
    _uninstall()


@contextmanager
def recording_live_output(run_id: str, append: Callable[[str, str, str], None]) -> Iterator[None]:
    """For the duration, send what the steps of run ``run_id`` print to
    ``append(run_id, name, lines)`` as it comes, in whole lines."""
    relay = StepOutput(lambda name, text: append(run_id, name, text))
    _live[run_id] = relay
    try:
        yield
    finally:
        _live.pop(run_id, None)
        relay.flush_all()


def live_sink(run_id: str | None) -> StepOutput | None:
    """The live relay of run ``run_id``, if it is recorded in this process."""
    return None if run_id is None else _live.get(run_id)


def live_output(run_id: str, name: str) -> Callable[[str], None] | None:
    """Where an executor passes on what step (or group) ``name`` of run ``run_id`` prints
    in another process, container or job, while it runs, so that the run store has it
    before the step ends; None when this process does not record the run. Text may come
    in pieces: lines are stored whole."""
    relay = _live.get(run_id)
    if relay is None:
        return None
    return lambda text: relay.write(name, text)
