"""What one step consumed: wall time, CPU time, peak memory and GPU memory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["ResourceUsage"]


@dataclass(frozen=True)
class ResourceUsage:
    """The measured resource usage of one step execution.

    Where a backend isolates steps (a child process, a container, a cloud job) the figures
    are the step's own (``exact``); where steps share a process (``local``, ``dask``) the
    CPU time is the step thread's and the peak is the process's growth during the step.

    Attributes:
        wall_seconds: wall time of the step.
        cpu_user_seconds: CPU time in user mode.
        cpu_system_seconds: CPU time in the kernel.
        peak_memory_bytes: peak resident memory of the step, when known.
        gpu_peak_memory_bytes: peak GPU memory allocated, when a GPU was in use.
        exact: the figures are the step's alone; ``False`` where steps share a process.
        source: how the figures were measured: ``"rusage"`` (the process and the children
            it waited for), ``"cgroup"`` (the container's memory controller) or
            ``"thread"`` (the step thread's CPU time and the process's peak growth).
        memory_limit_bytes: the memory limit the step ran under, when known.
        oom_killed: the step was killed for exceeding its memory limit; its peak is then
            the limit.
    """

    wall_seconds: float
    cpu_user_seconds: float
    cpu_system_seconds: float
    peak_memory_bytes: int | None
    gpu_peak_memory_bytes: int | None
    exact: bool
    source: str
    memory_limit_bytes: int | None
    oom_killed: bool = False

    @property
    def cpu_seconds(self) -> float:
        """CPU time, user and system."""
        return self.cpu_user_seconds + self.cpu_system_seconds

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return dict(self.__dict__)

    def to_json(self) -> str:
        """The record as compact JSON: what :meth:`to_dict` holds, encoded.

        The run store writes one per step, so this formats the fields directly, at a fifth
        of the cost of ``json.dumps`` on the dict; times are written to the microsecond.
        """
        d = self.__dict__
        wall, user, system = d["wall_seconds"], d["cpu_user_seconds"], d["cpu_system_seconds"]
        total = wall + user + system
        source = d["source"]
        if total - total != 0.0 or '"' in source or "\\" in source or not source.isprintable():
            return json.dumps(d, separators=(",", ":"))  # inf, nan or a string to escape
        peak, gpu, limit = (
            d["peak_memory_bytes"],
            d["gpu_peak_memory_bytes"],
            d["memory_limit_bytes"],
        )
        return _JSON % (
            wall,
            user,
            system,
            "null" if peak is None else peak,
            "null" if gpu is None else gpu,
            "true" if d["exact"] else "false",
            source,
            "null" if limit is None else limit,
            "true" if d["oom_killed"] else "false",
        )

    @classmethod
    def killed_for_memory(
        cls, memory_limit_bytes: int | None, wall_seconds: float
    ) -> ResourceUsage:
        """The record of a step its container's memory limit killed (OOMKilled): its peak
        is the limit, and its CPU time is lost with it (recorded as zero).

        Args:
            memory_limit_bytes: the limit it reached, when the backend knows it.
            wall_seconds: how long it ran.
        """
        return cls(
            wall_seconds=wall_seconds,
            cpu_user_seconds=0.0,
            cpu_system_seconds=0.0,
            peak_memory_bytes=memory_limit_bytes,
            gpu_peak_memory_bytes=None,
            exact=True,
            source="cgroup",
            memory_limit_bytes=memory_limit_bytes,
            oom_killed=True,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceUsage:
        """The record :meth:`to_dict` made; keys it does not know are ignored, so a record
        written by a newer version still reads."""

        def optional_int(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        return cls(
            wall_seconds=float(data.get("wall_seconds", 0.0)),
            cpu_user_seconds=float(data.get("cpu_user_seconds", 0.0)),
            cpu_system_seconds=float(data.get("cpu_system_seconds", 0.0)),
            peak_memory_bytes=optional_int("peak_memory_bytes"),
            gpu_peak_memory_bytes=optional_int("gpu_peak_memory_bytes"),
            exact=bool(data.get("exact", False)),
            source=str(data.get("source", "")),
            memory_limit_bytes=optional_int("memory_limit_bytes"),
            oom_killed=bool(data.get("oom_killed", False)),
        )


_JSON = (
    '{"wall_seconds":%.6f,"cpu_user_seconds":%.6f,"cpu_system_seconds":%.6f,'
    '"peak_memory_bytes":%s,"gpu_peak_memory_bytes":%s,"exact":%s,"source":"%s",'
    '"memory_limit_bytes":%s,"oom_killed":%s}'
)
