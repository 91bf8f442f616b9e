"""The pipelines the conformance suite runs on a backend under test.

They live in the ``flowyml`` package on purpose: every environment that runs steps has
flowyml installed (the step runner is part of it), so a process-isolated or container
backend imports them there as ``flowyml.testing.pipelines`` without shipping any test
file. This module imports nothing but flowyml and the standard library (no pytest).

Steps that can hang call :func:`note_running` first: it prints a marker line (seen in
the run's logs) and, when the ``probe_dir`` parameter names a folder that exists where
the step runs, writes ``HOST PID`` to a file named after the step, so a test on the
same host can wait for the step and check afterwards that its process is gone.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from flowyml.definition.context import Context
from flowyml.definition.retry import RetryPolicy
from flowyml.definition.steps import step
from flowyml.execution.launch import Pipeline

__all__ = [
    "EXAMPLES",
    "RUNNING_MARKER",
    "Summary",
    "arithmetic",
    "faulty",
    "note_running",
    "overrunning",
    "resumable",
    "retrying",
    "sleepy",
    "talking",
    "words",
]

RUNNING_MARKER = "conformance: running step"


def note_running(step_name: str, probe_dir: str) -> None:
    """Announce that ``step_name`` runs: a log line, and its pid in ``probe_dir``."""
    print(f"{RUNNING_MARKER} {step_name}", flush=True)
    if probe_dir and os.path.isdir(probe_dir):
        note = Path(probe_dir) / step_name
        note.write_text(f"{socket.gethostname()} {os.getpid()}")


# -- examples: their outputs must equal those of the `local` backend -----------------------


@dataclass(frozen=True)
class Summary:
    """A value no plain-data materializer handles (it travels pickled)."""

    title: str
    total: int
    mean: float


@step(outputs=["numbers"])
def numbers(count: int) -> list[int]:
    """The numbers 1..count."""
    return list(range(1, count + 1))


@step(inputs=["numbers"], outputs=["total", "squares"])
def totals(numbers: list[int]) -> tuple[int, list[int]]:
    """Two outputs from one step: the sum, and each number squared."""
    return sum(numbers), [n * n for n in numbers]


@step(inputs=["numbers"], outputs=["stats"])
def describe(numbers: list[int], scale: float) -> dict[str, float]:
    """A branch beside `totals`, with a parameter overridden for this step only."""
    return {"mean": scale * sum(numbers) / len(numbers), "max": float(max(numbers))}


@step(inputs=["total", "stats"], outputs=["summary"])
def summarise(total: int, stats: dict[str, float], title: str) -> Summary:
    """Both branches joined into a pickled value."""
    return Summary(title, total, stats["mean"])


arithmetic = Pipeline(
    "conformance-arithmetic",
    steps=[numbers, totals, describe, summarise],
    context=Context(count=12, scale=1.0, title="numbers").override("describe", scale=0.5),
)


@step(outputs=["text"], execution_group="words")
def sentence(repeat: int) -> str:
    """A sentence; runs in one environment with `word_counts`."""
    return " ".join(["the quick brown fox jumps over the lazy dog"] * repeat)


@step(inputs=["text"], outputs=["counts"], execution_group="words")
def word_counts(text: str) -> dict[str, int]:
    """How often each word occurs."""
    counts: dict[str, int] = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


@step(inputs=["counts"], outputs=["rare"], condition=lambda repeat: repeat > 100)
def rare_words(counts: dict[str, int]) -> list[str]:
    """Skipped: its condition is false for the example's parameters."""
    return sorted(word for word, n in counts.items() if n == 1)


@step(inputs=["text"], outputs=["encoded", "shout"])
def encode(text: str) -> dict[str, object]:
    """Two outputs returned as a dict: bytes, and a string."""
    return {"encoded": text.encode("utf-8"), "shout": text.upper()[:19]}


words = Pipeline(
    "conformance-words",
    steps=[sentence, word_counts, rare_words, encode],
    context=Context(repeat=3),
)

EXAMPLES: dict[str, Pipeline] = {"arithmetic": arithmetic, "words": words}
"""Every example pipeline by a short name; each runs with its own default context."""


# -- failures: a step that fails in each way a user can meet ---------------------------------

FAULTS = ("raise", "exit", "keyboard", "os_exit", "segfault")


@step(outputs=["outcome"])
def misbehave(fault: str) -> int:
    """Fails the way ``fault`` names (``none``: succeeds)."""
    print(f"misbehave: {fault}", flush=True)
    if fault == "raise":
        raise ValueError("conformance: this step broke on purpose")
    if fault == "exit":
        sys.exit(3)
    if fault == "keyboard":
        raise KeyboardInterrupt
    if fault == "os_exit":
        os._exit(7)
    if fault == "segfault":
        ctypes.string_at(0)
    return 1


@step(inputs=["outcome"], outputs=["after"])
def downstream(outcome: int) -> int:
    """Never runs when `misbehave` fails."""
    return outcome + 1


faulty = Pipeline(
    "conformance-faulty", steps=[misbehave, downstream], context=Context(fault="none")
)


# -- retries, timeouts, stopping ---------------------------------------------------------------

_attempts: dict[str, int] = {}  # token -> attempts so far, in the process that retries


@step(outputs=["attempts"], retry=RetryPolicy(max_retries=2, backoff=0.1, jitter=0.0))
def flaky(token: str) -> int:
    """Fails its first two attempts, then returns how many attempts it took."""
    _attempts[token] = attempt = _attempts.get(token, 0) + 1
    print(f"flaky: attempt {attempt}", flush=True)
    if attempt <= 2:
        raise ConnectionError(f"conformance: attempt {attempt} fails")
    return attempt


retrying = Pipeline("conformance-retrying", steps=[flaky], context=Context(token=""))


@step(outputs=["late"], timeout=1)
def overrun(sleep_seconds: float, probe_dir: str = "") -> float:
    """Sleeps far past its one-second timeout."""
    note_running("overrun", probe_dir)
    time.sleep(sleep_seconds)
    return sleep_seconds


overrunning = Pipeline(
    "conformance-overrunning", steps=[overrun], context=Context(sleep_seconds=120.0)
)


@step(outputs=["slept"])
def nap(sleep_seconds: float, probe_dir: str = "") -> float:
    """Sleeps until the run is stopped."""
    note_running("nap", probe_dir)
    time.sleep(sleep_seconds)
    return sleep_seconds


@step(inputs=["slept"], outputs=["woke"])
def wake(slept: float) -> float:
    """Never runs when the run is stopped during the nap."""
    return slept * 2


sleepy = Pipeline("conformance-sleepy", steps=[nap, wake], context=Context(sleep_seconds=120.0))


# -- logs ---------------------------------------------------------------------------------------


@step(outputs=["said"])
def chatter(token: str) -> int:
    """Prints a line with ``token`` to stdout and another to stderr."""
    print(f"conformance stdout {token}", flush=True)
    print(f"conformance stderr {token}", file=sys.stderr, flush=True)
    return len(token)


talking = Pipeline("conformance-talking", steps=[chatter], context=Context(token=""))


# -- resume and cache -------------------------------------------------------------------------


@step(outputs=["base"])
def base(offset: int) -> int:
    """The start value."""
    return 10000 + offset


@step(inputs=["base"], outputs=["bumped"])
def add_bump(base: int, bump: int) -> int:
    """A middle step whose parameter a resumed run may change."""
    return base + bump


@step(inputs=["bumped"], outputs=["final"])
def finish(bumped: int, fail: bool) -> int:
    """Fails while ``fail`` is true."""
    if fail:
        raise RuntimeError("conformance: finish fails until resumed")
    return bumped


resumable = Pipeline(
    "conformance-resumable",
    steps=[base, add_bump, finish],
    context=Context(offset=0, bump=40, fail=False),
)
