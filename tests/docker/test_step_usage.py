"""Resource usage of steps in containers: measured by the step runner inside (the
container's cgroup peak, its rusage) and recorded in the run store."""

from __future__ import annotations

from docker_harness import pipeline

from flowyml.records.resources import parse_memory

HELD = 300 * 1024 * 1024
CPU_SECONDS = 1.0
_TOLERANCE = 0.15


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


def test_a_step_s_memory_and_cpu_in_its_container_are_measured_within_15_percent(
    docker_project,
):
    assert pipeline("usage_light").run("docker").success
    assert pipeline("usage_heavy").run("docker").success
    light = _stored_usage("docker-usage-light")
    heavy = _stored_usage("docker-usage-heavy")
    assert heavy.exact and heavy.source == "cgroup" and not heavy.oom_killed, heavy
    assert heavy.peak_memory_bytes >= HELD
    # The container's peak: the interpreter a trivial step has too, plus what the step held.
    assert _within(heavy.peak_memory_bytes - light.peak_memory_bytes, HELD), (heavy, light)
    assert _within(heavy.cpu_seconds, CPU_SECONDS), heavy
    assert light.cpu_seconds < 0.1 * CPU_SECONDS


def test_a_step_killed_for_memory_is_recorded_at_its_limit(docker_project):
    run = pipeline("greedy").run("docker")
    assert not run.success
    usage = _stored_usage("docker-greedy")
    limit = parse_memory("48Mi")
    assert usage.oom_killed and usage.memory_limit_bytes == limit
    assert usage.peak_memory_bytes == limit


def test_steps_sharing_a_container_each_get_their_own_peak(docker_project):
    from flowyml.project.folder import forget_projects, open_project

    run = pipeline("usage_pair").run("docker")
    assert run.success, run.error
    forget_projects()
    steps = {s.step: s.usage for s in open_project().run_store.get_run(run.run_id).steps}
    first, second = steps["heavy_first"], steps["light_after"]
    # The container's peak rose during the first step: it is that step's.
    assert first.source == "cgroup" and first.peak_memory_bytes >= HELD, first
    # It did not rise during the second: that step gets its own process's peak.
    assert second.source == "rusage" and second.peak_memory_bytes < HELD / 3, second


def test_a_step_s_memory_limit_is_recorded_with_its_usage(docker_project):
    assert pipeline("usage_limited").run("docker").success
    usage = _stored_usage("docker-usage-limited")
    assert usage.memory_limit_bytes == parse_memory("256Mi") and not usage.oom_killed, usage
    assert usage.peak_memory_bytes < parse_memory("256Mi")
