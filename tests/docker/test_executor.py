"""ResourceConfig -> container limits, and secrets masked in results."""

from __future__ import annotations


def test_resources_map_to_cpu_memory_shm_and_gpu_requests():
    from flowyml.records.resources import ResourceConfig
    from flowyml_docker.containers import container_limits

    limits = container_limits(ResourceConfig(cpu=1.5, memory="256Mi", shm_size="64Mi", gpu=2))
    assert limits["nano_cpus"] == 1_500_000_000
    assert limits["mem_limit"] == limits["memswap_limit"] == 256 * 1024**2
    assert limits["shm_size"] == 64 * 1024**2
    (request,) = limits["device_requests"]
    assert request["Count"] == 2 and request["Capabilities"] == [["gpu"]]
    assert container_limits(ResourceConfig()) == {}


def test_group_resources_fill_in_from_the_stack_defaults():
    from flowyml.records.resources import ResourceConfig

    merged = ResourceConfig(memory="2Gi").with_defaults(ResourceConfig(cpu=2, memory="1Gi"))
    assert merged.cpu == 2 and merged.memory == "2Gi"


def test_secret_values_are_masked_in_results():
    from flowyml.records.results import ExecutionResult
    from flowyml_docker.secrets import MASK, Redactor

    result = ExecutionResult(
        step_name="s", success=False, error="bad hunter2", traceback="x hunter2", logs="hunter2!"
    )
    masked = Redactor(["hunter2"]).result(result)
    assert masked.error == f"bad {MASK}" and masked.logs == f"{MASK}!"
    assert "hunter2" not in (masked.traceback or "")
