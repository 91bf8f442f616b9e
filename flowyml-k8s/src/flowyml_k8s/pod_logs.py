"""Reading a group pod's log on, from where the previous read stopped.

The kubelet keeps a pod's log until the pod is deleted; the backend copies each new line
into the run's tracker as it polls, and the whole log ends up in the step's result, so
``flowyml runs logs`` still shows it after Kubernetes deleted the Job (TTL) or the run
was stopped.
"""

from __future__ import annotations

from collections.abc import Callable

from flowyml.backend import BackendError, LogEntry, now_iso
from flowyml_k8s.api import KubeApis, NotFound
from flowyml_k8s.job_spec import CONTAINER

__all__ = ["PodLogCursor"]


class PodLogCursor:
    """The lines of one pod's container not handed out yet.

    Args:
        apis: the cluster.
        group: the group the pod runs (the entries' group).
        redact: masks secret values.
    """

    def __init__(self, apis: KubeApis, group: str, redact: Callable[[str], str]) -> None:
        self.apis = apis
        self.group = group
        self.redact = redact
        self.pod: str | None = None
        self.lines: list[str] = []

    def poll(self, pod: str | None) -> list[LogEntry]:
        """The complete lines ``pod`` printed since the last call (none without a pod)."""
        if pod is not None and pod != self.pod:
            self.pod, self.lines = pod, []
        return self._read(final=False)

    def rest(self) -> list[LogEntry]:
        """Whatever is left once the container ended, partial last line included."""
        return self._read(final=True)

    def _read(self, final: bool) -> list[LogEntry]:
        if self.pod is None:
            return []
        path = self.apis.core_path("pods", self.pod) + "/log"
        try:
            text = self.apis.text(path, f"read the log of pod {self.pod}", {"container": CONTAINER})
        except NotFound:
            return []  # deleted with its Job: the lines read so far are all there is
        except BackendError:
            return []  # 400 "waiting to start": no log yet
        lines = text.splitlines()
        # A log only grows; a partial last line waits for the next read, unless final.
        if not final and not text.endswith("\n"):
            lines = lines[:-1]
        fresh = lines[len(self.lines) :]
        self.lines.extend(fresh)
        stamp = now_iso()
        return [LogEntry(self.redact(line), self.group, "INFO", stamp) for line in fresh]
