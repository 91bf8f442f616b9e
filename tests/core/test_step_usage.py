"""Measuring a step (flowyml/execution/step_usage.py): in a shared thread, in the step
runner's process, and GPU memory through a torch the step imported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import types

import pytest

from flowyml.execution import step_usage
from flowyml.execution.step_usage import thread_snapshot, thread_usage
from flowyml.records.usage import ResourceUsage

_MB = 1024 * 1024


def _burn(seconds: float, since: float | None = None) -> None:
    """Use this thread's CPU until ``seconds`` of it passed ``since`` (default: now)."""
    start = time.thread_time() if since is None else since
    while time.thread_time() - start < seconds:
        pass


class _FakeCuda:
    """What torch.cuda offers a step that uses a GPU: a peak that is reset per step."""

    def __init__(self) -> None:
        self.peak = 0
        self.resets = 0

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return True

    def reset_peak_memory_stats(self) -> None:
        self.resets += 1
        self.peak = 0

    def max_memory_allocated(self) -> int:
        return self.peak


@pytest.fixture
def fake_torch(monkeypatch):
    torch = types.ModuleType("torch")
    torch.cuda = _FakeCuda()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


def test_a_thread_s_usage_is_its_cpu_time_and_the_process_s_peak_growth():
    before = thread_snapshot()
    _burn(0.2)
    usage = thread_usage(before, 0.25, [0.1, 0.05])  # plus a helper thread's time
    assert not usage.exact and usage.source == "thread"
    assert usage.cpu_seconds == pytest.approx(0.35, abs=0.03)
    assert usage.cpu_user_seconds >= 0.1 and usage.cpu_system_seconds >= 0.05
    assert usage.wall_seconds == 0.25 and usage.gpu_peak_memory_bytes is None
    assert usage.peak_memory_bytes is not None and usage.peak_memory_bytes >= 0


def test_gpu_memory_is_read_only_from_a_torch_the_step_imported(fake_torch):
    before = thread_snapshot()
    assert fake_torch.cuda.resets == 1  # a new peak per step
    fake_torch.cuda.peak = 3 * 1024**3
    assert thread_usage(before, 0.1).gpu_peak_memory_bytes == 3 * 1024**3


def test_no_gpu_figure_without_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert thread_usage(thread_snapshot(), 0.1).gpu_peak_memory_bytes is None


_METER_PROBE = """
import json, time
from flowyml.execution.step_usage import ProcessMeter

def burn(seconds, since):
    while time.thread_time() - since < seconds:
        pass

meter = ProcessMeter()
meter.start()
started = time.thread_time()
held = bytearray(200 * 1024 * 1024)
for offset in range(0, len(held), 4096):
    held[offset] = 1
burn(0.3, started)
first = meter.stop()
used = time.thread_time() - started  # this process's only thread: all its CPU
del held
meter.start()
second = meter.stop()
print(json.dumps([first.to_dict(), second.to_dict(), used]))
"""


def test_the_process_meter_measures_each_step_from_its_own_start():
    """In a process of its own, as in the step runner: a process-wide meter inside the test
    runner would also count what other tests' threads and children did meanwhile."""
    done = subprocess.run(
        [sys.executable, "-c", _METER_PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    first_dict, second_dict, used = json.loads(done.stdout)
    first, second = ResourceUsage.from_dict(first_dict), ResourceUsage.from_dict(second_dict)
    assert first.exact and first.source == "rusage"
    # At least the 0.3 s burnt; more where touching 200 MB of pages costs the kernel more.
    assert used >= 0.3
    assert first.cpu_seconds == pytest.approx(used, rel=0.1, abs=0.02)
    assert first.peak_memory_bytes is not None and first.peak_memory_bytes >= 200 * _MB
    # The peak is reset per step: the second step did not hold the first one's memory.
    assert second.peak_memory_bytes is not None
    assert second.peak_memory_bytes < first.peak_memory_bytes - 150 * _MB
    assert second.cpu_seconds < 0.05


def test_outside_a_container_there_is_no_cgroup_to_read(monkeypatch):
    monkeypatch.setattr(step_usage.os, "getppid", lambda: 1)
    # The host's cgroup mounted at /sys/fs/cgroup is not this process's own, if any.
    found = step_usage._ContainerCgroup.find()
    assert found is None or step_usage._mounted_is_own("/sys/fs/cgroup", "")


def test_a_step_starting_right_after_another_on_its_thread_starts_from_its_end(monkeypatch):
    first = step_usage.thread_snapshot()
    step_usage.thread_usage(first, 0.0)
    end = step_usage._last_reading.value[1]
    assert step_usage.thread_snapshot() is end  # one system call per step, not two
    monkeypatch.setattr(step_usage, "REUSE_SECONDS", 0.0)
    assert step_usage.thread_snapshot() is not end  # too long ago: read afresh
