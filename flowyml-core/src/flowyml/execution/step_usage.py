"""Measuring what a step consumes: wall time, CPU time, peak memory, GPU memory.

Two ways, by how the step runs:

- In a process shared with other steps (``local``, a Dask worker):
  :func:`thread_snapshot` before the step and :func:`thread_usage` after it give the
  step thread's CPU time and the growth of the process's peak resident memory during
  the step, marked approximate (``exact=False``, source ``"thread"``). It costs one
  ``getrusage`` call per step: where a step starts on a thread within
  :data:`REUSE_SECONDS` of the previous step's end there, that end's reading is its
  start, and the few microseconds of bookkeeping between the two count for it. A
  system call costs a process with a large heap several times its own time in the
  caches it empties: two per trivial step were a fifth of its cost.
- In the step runner's own process (``subprocess``, containers, cloud jobs):
  :class:`ProcessMeter` measures the process and the children it waited for (CPU time
  of every thread, the peak resident memory reset per step on Linux) and, when the step
  runner is the main process of a container, the container's memory cgroup: its peak,
  used when it rose during the step (so it is the step's), and its limit.

GPU memory is read only when the step's code imported torch and initialised CUDA: this
module never imports torch.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from typing import Any

from flowyml.records.usage import ResourceUsage

__all__ = ["ProcessMeter", "gpu_peak", "gpu_reset", "thread_snapshot", "thread_usage"]

# ru_maxrss is in kilobytes on Linux, in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
_getrusage = resource.getrusage
_new = object.__new__
_set_attribute = object.__setattr__
# A step starting this soon after the previous one ended on its thread starts from that
# reading (see the module doc).
REUSE_SECONDS = 0.001
_last_reading = threading.local()
# A cgroup limit at or above this is "no limit" (cgroup v1 reports 2**63 rounded to pages).
_NO_LIMIT = 2**60


def thread_snapshot() -> Any:
    """What :func:`thread_usage` compares against: the calling thread's resource usage
    (with the process's peak resident memory) now, or as the previous step on this
    thread ended, if that was under :data:`REUSE_SECONDS` ago; starts a new GPU peak when
    the step's code uses CUDA."""
    if "torch" in sys.modules:
        gpu_reset()
    last = getattr(_last_reading, "value", None)
    if last is not None and time.perf_counter() - last[0] < REUSE_SECONDS:
        return last[1]
    return _getrusage(_RUSAGE_THREAD)


def thread_usage(
    before: Any, wall_seconds: float, helper_cpu: list[float] | None = None
) -> ResourceUsage:
    """The approximate usage of a step that ran on this thread since ``before``.

    Args:
        before: :func:`thread_snapshot` taken when the step started, on this thread.
        wall_seconds: the step's wall time.
        helper_cpu: user and system CPU seconds the step spent on a helper thread (a
            step with a timeout runs on one).
    """
    after = _getrusage(_RUSAGE_THREAD)
    _last_reading.value = (time.perf_counter(), after)
    # By index (ru_utime, ru_stime, ru_maxrss): cheaper than by name, on a per-step path.
    user = after[0] - before[0]
    system = after[1] - before[1]
    if helper_cpu is not None:
        user += helper_cpu[0]
        system += helper_cpu[1]
    # Built without __init__ (a frozen dataclass sets each field through object.__setattr__):
    # this runs once per step on the in-process backends, whose overhead is benchmarked.
    usage = _new(ResourceUsage)
    _set_attribute(
        usage,
        "__dict__",
        {
            "wall_seconds": wall_seconds,
            "cpu_user_seconds": user,
            "cpu_system_seconds": system,
            "peak_memory_bytes": (after[2] - before[2]) * _MAXRSS_UNIT,
            "gpu_peak_memory_bytes": gpu_peak() if "torch" in sys.modules else None,
            "exact": False,
            "source": "thread",
            "memory_limit_bytes": None,
            "oom_killed": False,
        },
    )
    return usage


def gpu_reset() -> None:
    """Start a new GPU peak, when the step's code already uses CUDA through torch."""
    torch = sys.modules.get("torch")
    if torch is not None and _cuda_initialized(torch):
        torch.cuda.reset_peak_memory_stats()


def gpu_peak() -> int | None:
    """Peak GPU memory torch allocated since :func:`gpu_reset`; ``None`` without a GPU in
    use (torch not imported, or CUDA not initialised)."""
    torch = sys.modules.get("torch")
    if torch is None or not _cuda_initialized(torch):
        return None
    return int(torch.cuda.max_memory_allocated())


def _cuda_initialized(torch: Any) -> bool:
    cuda = getattr(torch, "cuda", None)
    try:
        return bool(cuda is not None and cuda.is_available() and cuda.is_initialized())
    except RuntimeError:  # a broken CUDA install: no GPU figure rather than a failed step
        return False


class ProcessMeter:
    """Measures each step the step runner runs in its own process, one after another.

    Call :meth:`start` before a step and :meth:`stop` after it.
    """

    def __init__(self) -> None:
        self._cgroup = _ContainerCgroup.find()
        self._cgroup_peak: int | None = None  # the cgroup's peak when the step started
        self._first = True
        self._start = 0.0
        self._self: Any = None
        self._children: Any = None

    def start(self) -> None:
        """Start measuring a step."""
        _reset_peak_rss()
        gpu_reset()
        if self._cgroup is not None:
            self._cgroup_peak = self._cgroup.peak()
        self._self = _getrusage(resource.RUSAGE_SELF)
        self._children = _getrusage(resource.RUSAGE_CHILDREN)
        self._start = time.perf_counter()

    def stop(self) -> ResourceUsage:
        """The usage of the step since :meth:`start`."""
        wall = time.perf_counter() - self._start
        own = _getrusage(resource.RUSAGE_SELF)
        children = _getrusage(resource.RUSAGE_CHILDREN)
        peak = _peak_rss()
        if peak is None:  # no per-step reset here: the process's peak so far
            peak = own.ru_maxrss * _MAXRSS_UNIT
        if children.ru_maxrss > self._children.ru_maxrss:
            # A child the step waited for grew past every earlier one: count the largest.
            peak += children.ru_maxrss * _MAXRSS_UNIT
        source = "rusage"
        limit = None
        if self._cgroup is not None:
            limit = self._cgroup.limit()
            container_peak = self._cgroup.peak()
            # The cgroup's peak covers the whole container since it started: it is this
            # step's when it rose during the step, or when this is the first step.
            started = self._cgroup_peak
            if container_peak is not None and (
                self._first or started is None or container_peak > started
            ):
                peak = container_peak
                source = "cgroup"
        self._first = False
        return ResourceUsage(
            wall_seconds=wall,
            cpu_user_seconds=(own.ru_utime - self._self.ru_utime)
            + (children.ru_utime - self._children.ru_utime),
            cpu_system_seconds=(own.ru_stime - self._self.ru_stime)
            + (children.ru_stime - self._children.ru_stime),
            peak_memory_bytes=peak,
            gpu_peak_memory_bytes=gpu_peak(),
            exact=True,
            source=source,
            memory_limit_bytes=limit,
        )


def _reset_peak_rss() -> None:
    """Reset this process's peak resident memory (Linux: VmHWM), where the kernel allows."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
    except OSError:  # not Linux, or not allowed: stop() falls back to the lifetime peak
        return


def _peak_rss() -> int | None:
    """This process's peak resident memory since :func:`_reset_peak_rss` (Linux only)."""
    try:
        with open("/proc/self/status", "rb") as file:
            for line in file:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # not Linux: the caller falls back to rusage
        return None
    return None


class _ContainerCgroup:
    """The memory cgroup of the container this step runner is the main process of."""

    def __init__(self, peak: str, limit: str) -> None:
        self._peak = peak
        self._limit = limit

    @classmethod
    def find(cls) -> _ContainerCgroup | None:
        """The container's memory cgroup, or ``None`` outside a container.

        The step runner is a container's main process when it is PID 1 or the child of
        PID 1 (an init, or the step runner as PID 1, forks it). Its cgroup is the
        container's when the cgroup mounted at ``/sys/fs/cgroup`` is its own (a
        container's view), not an ancestor shared with other processes (a host's view).
        """
        if os.getpid() != 1 and os.getppid() != 1:
            return None
        v2 = "/sys/fs/cgroup"
        if os.path.exists(f"{v2}/memory.peak") and _mounted_is_own(v2, ""):
            return cls(f"{v2}/memory.peak", f"{v2}/memory.max")
        v1 = f"{v2}/memory"
        if os.path.exists(f"{v1}/memory.max_usage_in_bytes") and _mounted_is_own(v1, "memory"):
            return cls(f"{v1}/memory.max_usage_in_bytes", f"{v1}/memory.limit_in_bytes")
        return None

    def peak(self) -> int | None:
        """The container's peak memory so far, in bytes."""
        return _read_bytes(self._peak)

    def limit(self) -> int | None:
        """The container's memory limit in bytes, or ``None`` when unlimited."""
        value = _read_bytes(self._limit)
        return None if value is None or value >= _NO_LIMIT else value


def _read_text(path: str) -> str:
    with open(path) as file:
        return file.read()


def _read_bytes(path: str) -> int | None:
    try:
        return int(_read_text(path).split()[0])
    except (OSError, ValueError, IndexError):  # "max" (no limit) or gone
        return None


def _mounted_is_own(mount_point: str, controller: str) -> bool:
    """Whether the cgroup mounted at ``mount_point`` is this process's own cgroup of
    ``controller`` (``""``: the cgroup v2 hierarchy)."""
    own = None
    try:
        for line in _read_text("/proc/self/cgroup").splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                own = path
        for line in _read_text("/proc/self/mountinfo").splitlines():
            fields = line.split()
            if fields[4] == mount_point:
                return own is not None and fields[3] == own
    except (OSError, ValueError, IndexError):  # no /proc: not a Linux container
        return False
    return False
