"""Steps of known cost, importable by child processes (the resource usage tests use them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from known_load import ALLOCATED, CPU_SECONDS, hold_and_burn

from flowyml import Pipeline, step


@step(outputs=["held"])
def heavy() -> int:
    """300 MB resident and 1 s of CPU time."""
    return hold_and_burn(ALLOCATED, CPU_SECONDS)


@step(outputs=["held"])
def light() -> int:
    """Next to nothing: what a step costs before it does anything."""
    return hold_and_burn(0, 0.0)


heavy_pipeline = Pipeline("usage-heavy", steps=[heavy])
light_pipeline = Pipeline("usage-light", steps=[light])


@step(outputs=["held"])
def spawn_heavy() -> int:
    """What ``heavy`` does, in a child process the step waits for."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import sys; sys.path.insert(0, {here!r}); import known_load;"
        f" known_load.hold_and_burn({ALLOCATED}, {CPU_SECONDS})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    return ALLOCATED


@step(outputs=["never"])
def burn_and_die() -> int:
    """What ``heavy`` does, then its process is killed before it can report."""
    hold_and_burn(ALLOCATED, CPU_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@step(outputs=["held"], timeout=60)
def heavy_with_timeout() -> int:
    """``heavy`` with a timeout: in process, it runs on a helper thread."""
    return hold_and_burn(ALLOCATED, CPU_SECONDS)
