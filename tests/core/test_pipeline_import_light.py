"""Importing a pipeline's module — what the step runner does in every container,
subprocess and cloud job — loads what defines a pipeline, not what launches a run
(flowyml/execution/launch.py imports the scheduler, the remote layer, the configuration
and the plugins when a run is launched)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_LAUNCHING = (
    "flowyml.execution.scheduler",
    "flowyml.execution.remote",
    "flowyml.execution.remote_wait",
    "flowyml.execution.run_events",
    "flowyml.plugins.manager",
    "flowyml.project.config",
    "flowyml.project.folder",
    "flowyml.storage.run_store",
)

_PROBE = textwrap.dedent(
    f"""
    import sys
    from flowyml import Pipeline, step

    @step(outputs=["x"])
    def make():
        return 1

    pipeline = Pipeline("light", steps=[make])
    print("LOADED", sorted(m for m in {_LAUNCHING!r} if m in sys.modules))
    """
)


def test_defining_a_pipeline_loads_nothing_that_launches_runs() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout
