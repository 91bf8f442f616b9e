"""Importing a pipeline's module — what the step runner does in every container,
subprocess and cloud job — loads what defines a pipeline, not what launches a run
(flowyml/execution/launch.py imports the scheduler, the remote layer, the configuration
and the plugins when a run is launched). Neither that nor the step runner itself imports
pydantic: ``ResourceConfig`` is made when a step asks for resources, and the step runner
writes its manifest from plain fields."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_LAUNCHING = (
    "flowyml.execution.scheduler",
    "flowyml.execution.remote",
    "flowyml.execution.remote_wait",
    "flowyml.execution.run_events",
    "flowyml.plugins.manager",
    "flowyml.project.config",
    "flowyml.project.folder",
    "flowyml.storage.run_store",
    "pydantic",
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


def test_a_step_asking_for_resources_still_gets_them_checked() -> None:
    from flowyml import ResourceConfig, step

    asked = step(name="asked", resources={"cpu": 2, "memory": "1Gi"})(lambda: 1.0)
    assert asked.resources == ResourceConfig(cpu=2, memory="1Gi")
    plain = step(name="plain")(lambda: 1.0)
    assert plain.resources == ResourceConfig()
    assert plain.with_resources(ResourceConfig(cpu=1)).resources.cpu == 1
    assert plain.resources == ResourceConfig()  # the copy's resources are its own
    with pytest.raises(ValueError, match="memory"):
        step(name="bad", resources={"memory": "lots"})(lambda: 1.0)


_MODULE = textwrap.dedent(
    """
    from flowyml import Pipeline, step

    @step(outputs=["x"])
    def make():
        print("made")
        return 41

    @step(inputs=["x"], outputs=["y"])
    def add(x):
        return x + 1

    pipeline = Pipeline("light", steps=[make, add])
    """
)

# What a step runner in an image of flowyml-core alone must not import: each costs its
# start-up milliseconds, once per step group (pickle, logging and tempfile come when a value
# needs pickling, something is reported, or a large object is written; OpenSSL's hashing,
# _hashlib, when a large object is written; pathlib and urllib.parse, with ipaddress, only
# for a store path or URI with characters to quote).
_NOT_IN_A_RUNNER = (
    "pydantic",
    "email",
    "importlib.metadata",
    "pickle",
    "logging",
    "tempfile",
    "argparse",
    "_hashlib",
    "pluggy",
    "pathlib",
    "urllib.parse",
    "ipaddress",
)

_RUNNER = textwrap.dedent(
    f"""
    import sys
    import flowyml.plugins.manager
    from flowyml.cli.main import main

    # As in an image of flowyml-core alone: the plugins installed here are not seen.
    flowyml.plugins.manager.group_may_be_declared = lambda group: False
    sys.argv = ["flowyml", "step-runner", "--run-id", "r1", "--group", "g",
                "--artifact-store", sys.argv[1]]
    try:
        main()
    except SystemExit as exc:
        print("LOADED", sorted(m for m in {_NOT_IN_A_RUNNER!r} if m in sys.modules))
        sys.exit(exc.code)
    """
)


def test_a_step_runner_runs_a_group_without_pydantic(tmp_path: Path) -> None:
    from flowyml.execution.step_runner import manifest_key, read_manifest, write_task
    from flowyml.storage.artifact_store import LocalArtifactStore

    (tmp_path / "light_pipeline.py").write_text(_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import light_pipeline  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    store = LocalArtifactStore(str(tmp_path / "store"))
    steps = [light_pipeline.make, light_pipeline.add]
    write_task(store, "r1", "g", steps, {}, {}, {"pipeline": "light_pipeline:pipeline"})

    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout

    from flowyml.plugins.manager import get_plugin_manager

    get_plugin_manager()  # sets up how this process reads artifacts by URI
    made, added = read_manifest(store, "r1", "g")
    assert (made.step_name, made.success, made.logs) == ("make", True, "made\n")
    assert added.load_output("y") == 42
    assert added.usage is not None and added.usage.exact and added.usage.source == "rusage"
    assert added.started_at is not None and added.started_at.tzinfo is not None
    # What the runner wrote is what ExecutionResult would have written for those fields.
    raw = json.loads(store.read_named(manifest_key("r1", "g")))["results"]
    for entry, result in zip(raw, (made, added), strict=True):
        assert entry == result.model_dump(mode="json", include=set(entry))
