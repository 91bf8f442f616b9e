"""In-venv measurement harness: one workload, one process, one JSON line on stdout.

A tool adapter (``tool_<name>.py``) implements the `Tool` protocol and ends with::

    if __name__ == "__main__":
        raise SystemExit(harness.main(sys.modules[__name__]))

Usage: ``VENV/bin/python tool_X.py W1|W2|W3|W4|W5|W6 [--variant V] [--phase P] [--home DIR]``.

The harness isolates the process (``HOME`` and the working directory point at a scratch
directory, so tool state such as ``~/.prefect`` or ``./.flowyml`` never leaks between
measurements), sends everything the tool prints to ``<home>/tool-output.log``, runs the
tool's one-step warm-up workflow (timed as ``startup_s``: server start, database
creation, lazy imports), then runs and times the workload and checks its output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import bodies

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6")
W3_PHASES = ("fill", "rerun", "change")
EXTRA: dict[str, float] = {}
"""Extra metrics an adapter reports with `note` during the workload (e.g. ``body_s``)."""


class Unsupported(Exception):
    """Raised by an adapter when the tool cannot express a workload (message = reason)."""


class WrongResult(Exception):
    """Raised by the harness when a workload's output is not the expected value."""


class Tool(Protocol):
    """What every ``tool_<name>.py`` module provides (module-level names)."""

    PACKAGE: str
    """Import name of the tool, timed by W5 (``python -c "import PACKAGE"``)."""

    DISTRIBUTIONS: Sequence[str]
    """Distribution names whose versions are reported with each measurement."""

    def isolate(self, home: Path) -> None:
        """Point the tool's state at `home` (called before the tool is imported)."""

    def warmup(self) -> dict[str, float] | None:
        """Run a trivial one-step workflow (pays server start, DB creation, lazy imports).

        May return extra timings (e.g. ``{"server_start_s": ...}``) to report.
        """

    def chain(self, n: int, variant: str) -> int:
        """W1: `source` then `n` chained `increment` steps, caching off; final value."""

    def fanout(self, width: int, variant: str) -> int:
        """W2: `width` independent `nap` steps then a `total` join; the join's value."""

    def cached_chain(self, incs: Sequence[int], variant: str) -> int:
        """W3: `source` then `add(prev, incs[i])` for i >= 1, caching on; final value."""

    def array_pass(self, variant: str) -> float:
        """W4: `make_array` then `array_sum` of it, caching off; the sum."""

    def wide_fanout(self, width: int, variant: str) -> int:
        """W6: `width` independent `echo` steps then a `total` join, caching off; its value."""


def note(key: str, value: float) -> None:
    """Let an adapter report an extra metric of the workload being measured."""
    EXTRA[key] = value


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def check(name: str, got: object, expected: object) -> None:
    """Raise `WrongResult` unless `got == expected`."""
    if got != expected:
        raise WrongResult(f"{name}: expected {expected!r}, got {got!r}")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call `fn` and return its value and wall time in seconds."""
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 (and child processes' output) to `path`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _run_w1(tool: Tool, variant: str, metrics: dict[str, float]) -> None:
    value, metrics["run_s"] = timed(lambda: tool.chain(bodies.CHAIN_LENGTH, variant))
    metrics["per_step_ms"] = metrics["run_s"] / (bodies.CHAIN_LENGTH + 1) * 1000
    check("final chain value", value, bodies.EXPECTED_CHAIN)


def _run_w2(tool: Tool, variant: str, metrics: dict[str, float]) -> None:
    value, metrics["run_s"] = timed(lambda: tool.fanout(bodies.FANOUT_WIDTH, variant))
    metrics["parallelism"] = bodies.FANOUT_WIDTH * bodies.NAP_SECONDS / metrics["run_s"]
    check("join value", value, bodies.EXPECTED_FANOUT)


def _run_w3(tool: Tool, variant: str, phase: str, log: Path, metrics: dict[str, float]) -> None:
    incs = bodies.chain_incs(phase)
    log.write_bytes(b"")
    value, metrics["run_s"] = timed(lambda: tool.cached_chain(incs, variant))
    metrics["executed"] = log.stat().st_size
    check(f"final chain value after {phase}", value, sum(incs))


def _run_w4(tool: Tool, variant: str, metrics: dict[str, float]) -> None:
    metrics["baseline_rss_bytes"] = peak_rss_bytes()
    value, metrics["run_s"] = timed(lambda: tool.array_pass(variant))
    peak = peak_rss_bytes()
    metrics["peak_rss_bytes"] = peak
    metrics["rss_ratio"] = peak / bodies.ARRAY_BYTES
    metrics["extra_rss_ratio"] = (peak - metrics["baseline_rss_bytes"]) / bodies.ARRAY_BYTES
    check("array sum", value, bodies.EXPECTED_ARRAY_SUM)


def _run_w6(tool: Tool, variant: str, metrics: dict[str, float]) -> None:
    value, metrics["run_s"] = timed(lambda: tool.wide_fanout(bodies.WIDE_WIDTH, variant))
    metrics["per_step_ms"] = metrics["run_s"] / (bodies.WIDE_WIDTH + 1) * 1000
    check("join value", value, bodies.EXPECTED_WIDE)


def _run_w5(tool: Tool, metrics: dict[str, float]) -> None:
    """Time ``python -c "import PACKAGE"`` against a bare ``python -c pass``."""
    for key, code in (("import_s", f"import {tool.PACKAGE}"), ("interpreter_s", "pass")):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
        metrics[key] = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{code!r} failed: {done.stderr.decode()[-2000:]}")


def measure(
    tool: Tool, workload: str, variant: str, phase: str, home: Path, metrics: dict[str, float]
) -> None:
    """Run one workload in this process, filling `metrics` as it goes (raises on failure)."""
    if workload == "W5":
        _run_w5(tool, metrics)
        return
    exec_log = home / "executions.log"
    os.environ[bodies.EXEC_LOG_ENV] = str(exec_log)
    extra, metrics["startup_s"] = timed(tool.warmup)
    metrics.update(extra or {})
    _, metrics["one_step_run_s"] = timed(tool.warmup)
    EXTRA.clear()
    if workload == "W1":
        _run_w1(tool, variant, metrics)
    elif workload == "W2":
        _run_w2(tool, variant, metrics)
    elif workload == "W3":
        _run_w3(tool, variant, phase, exec_log, metrics)
    elif workload == "W4":
        _run_w4(tool, variant, metrics)
    elif workload == "W6":
        _run_w6(tool, variant, metrics)
    metrics.update(EXTRA)


def _versions(tool: Tool) -> dict[str, str]:
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for dist in tool.DISTRIBUTIONS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def _tail(path: Path, limit: int = 3000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-limit:]
    return ""


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--variant", default="default")
    parser.add_argument("--phase", choices=W3_PHASES, default="fill", help="W3 phase")
    parser.add_argument("--home", type=Path, help="scratch dir (kept); default: temporary")
    return parser.parse_args(argv)


def main(tool: Tool, argv: Sequence[str] | None = None) -> int:
    """Measure one workload and print one JSON line; exit status 1 on failure."""
    args = _parse(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-peer-"))
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(home)
    os.chdir(home)
    tool.isolate(home)
    log = home / "tool-output.log"
    result: dict[str, Any] = {"workload": args.workload, "variant": args.variant}
    if args.workload == "W3":
        result["phase"] = args.phase
    metrics: dict[str, float] = {}
    status = 0
    try:
        with output_to(log):
            measure(tool, args.workload, args.variant, args.phase, home, metrics)
    except Unsupported as exc:
        result["unsupported"] = str(exc)
    except WrongResult as exc:
        result["error"] = f"wrong result: {exc}"
        status = 1
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()[-3000:]
        result["log_tail"] = _tail(log)
        status = 1
    result["metrics"] = metrics
    result["versions"] = _versions(tool)
    print(json.dumps(result), flush=True)
    if args.home is None:
        os.chdir("/")
        shutil.rmtree(home, ignore_errors=True)
    return status
