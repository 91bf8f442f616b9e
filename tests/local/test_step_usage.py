"""Resource usage of steps on ``subprocess`` (exact) and ``local`` (approximate), as
measured by flowyml/execution/step_usage.py and recorded in the run store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import usage_steps
from known_load import ALLOCATED, CPU_SECONDS

from flowyml import Pipeline

_TOLERANCE = 0.15
_HERE = Path(__file__).resolve().parent


def _stored_usage(pipeline_name: str):
    """The usage the run store holds for the one step of the pipeline's latest run."""
    from flowyml.project.folder import forget_projects, open_project

    forget_projects()
    store = open_project().run_store
    [run] = store.list_runs(limit=1, pipeline=pipeline_name)
    [record] = store.get_run(run.run_id).steps
    return record.usage


def _within(measured: float, expected: float) -> bool:
    return abs(measured - expected) <= _TOLERANCE * expected


@pytest.fixture(params=["fork-server", "spawn"])
def isolated(request, project):
    """The subprocess backend with each start method, caching off, as a stack name."""
    (project / "flowyml.yaml").write_text(
        "stacks:\n  isolated:\n    backend: subprocess\n    cache: false\n"
        f"    settings: {{start_method: {request.param}}}\n"
    )
    return "isolated"


def test_subprocess_measures_a_step_s_memory_and_cpu_within_15_percent(isolated):
    assert usage_steps.light_pipeline.run(isolated).success
    assert usage_steps.heavy_pipeline.run(isolated).success
    light = _stored_usage("usage-light")
    heavy = _stored_usage("usage-heavy")
    assert heavy.exact and heavy.source == "rusage" and not heavy.oom_killed
    assert heavy.peak_memory_bytes >= ALLOCATED
    # The process's peak: the interpreter a trivial step has too, plus what the step held.
    assert _within(heavy.peak_memory_bytes - light.peak_memory_bytes, ALLOCATED), (heavy, light)
    assert _within(heavy.cpu_seconds, CPU_SECONDS), heavy
    assert heavy.wall_seconds >= heavy.cpu_seconds * 0.9
    assert light.cpu_seconds < 0.1 * CPU_SECONDS


def test_subprocess_counts_the_children_a_step_waits_for(isolated):
    run = Pipeline("usage-tree", steps=[usage_steps.spawn_heavy]).run(isolated)
    assert run.success, run.error
    usage = _stored_usage("usage-tree")
    assert _within(usage.cpu_seconds, CPU_SECONDS), usage
    assert usage.peak_memory_bytes >= ALLOCATED


def test_a_crashed_subprocess_step_keeps_what_its_process_used(project, isolated):
    run = Pipeline("usage-crash", steps=[usage_steps.burn_and_die]).run(isolated)
    assert not run.success
    usage = run.step_results["burn_and_die"].usage
    assert usage is not None and usage.exact and usage.source == "rusage"
    # The whole child's figures: a spawned child's also count its interpreter's start-up.
    spawned = "spawn" in (project / "flowyml.yaml").read_text()
    start_up = 0.6 if spawned else 0.0
    assert usage.cpu_seconds >= (1 - _TOLERANCE) * CPU_SECONDS, usage
    assert usage.cpu_seconds <= (1 + _TOLERANCE) * CPU_SECONDS + start_up, usage
    assert usage.peak_memory_bytes >= ALLOCATED


def test_local_records_the_step_thread_s_cpu_and_the_peak_growth_as_approximate(project):
    # In a fresh process: the growth of a process's peak is only the step's when no
    # earlier work (other tests) set a higher one.
    script = (
        f"import sys; sys.path.insert(0, {str(_HERE)!r}); import usage_steps;"
        "assert usage_steps.heavy_pipeline.run('local').success"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=project, timeout=120)
    usage = _stored_usage("usage-heavy")
    assert not usage.exact and usage.source == "thread"
    assert _within(usage.cpu_seconds, CPU_SECONDS), usage
    # The growth of the process's peak: at most what the step held (less when the process
    # had been larger before the step), never nothing for a step that held 300 MB.
    assert 0.5 * ALLOCATED <= usage.peak_memory_bytes <= (1 + _TOLERANCE) * ALLOCATED, usage


def test_local_counts_the_cpu_of_a_step_run_on_a_timeout_thread(project):
    run = Pipeline("usage-timeout", steps=[usage_steps.heavy_with_timeout]).run("local")
    usage = run.step_results["heavy_with_timeout"].usage
    assert _within(usage.cpu_seconds, CPU_SECONDS), usage


def test_a_cached_step_records_no_usage(project):
    first = usage_steps.light_pipeline.run("local")
    again = usage_steps.light_pipeline.run("local")
    assert first.step_results["light"].usage is not None
    assert again.step_results["light"].cached and again.step_results["light"].usage is None


def test_runs_show_has_cpu_and_peak_memory_columns_marking_approximate_and_oom(project):
    from flowyml import ExecutionResult, ExecutionStatus, ResourceUsage
    from flowyml.project.folder import open_project

    def usage(cpu: float, peak: int, exact: bool = True, oom: bool = False) -> ResourceUsage:
        return ResourceUsage(
            wall_seconds=cpu + 0.5,
            cpu_user_seconds=cpu,
            cpu_system_seconds=0.0,
            peak_memory_bytes=peak,
            gpu_peak_memory_bytes=None,
            exact=exact,
            source="rusage" if exact else "thread",
            memory_limit_bytes=peak if oom else None,
            oom_killed=oom,
        )

    store = open_project().run_store
    store.create_run("shown", "demo", "subprocess", {})
    for name, measured in (
        ("exact", usage(1.5, 300 * 1024**2)),
        ("shared", usage(0.25, 512 * 1024, exact=False)),
        ("killed", usage(0.0, 2 * 1024**3, oom=True)),
    ):
        store.step_started("shown", name, 1.0)
        result = ExecutionResult(step_name=name, success=name != "killed", usage=measured)
        store.step_finished("shown", result)
    store.finish_run("shown", ExecutionStatus.FAILED)
    shown = subprocess.run(
        [sys.executable, "-m", "flowyml", "runs", "show", "shown"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = {line.split()[0]: line for line in shown.splitlines() if line.strip()}
    assert "cpu" in lines["step"] and "peak mem" in lines["step"]
    assert "1.50s" in lines["exact"] and "300.0 MiB" in lines["exact"]
    assert "~250.0ms" in lines["shared"] and "~512 KiB" in lines["shared"]
    assert "2.00 GiB OOM" in lines["killed"]
    assert "~ approximate" in shown
