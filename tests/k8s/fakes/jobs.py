"""The fake Job controller: one pod per attempt, status counts, conditions, deadline.

Each Job runs one pod; a failed pod is replaced while ``failed <= backoffLimit``. A pod
that succeeds completes the Job (``SuccessCriteriaMet``, then ``Complete`` with
``completionTime``). Too many failures set ``FailureTarget`` and ``Failed`` with reason
``BackoffLimitExceeded``; ``activeDeadlineSeconds`` past ``startTime`` sets
``FailureTarget`` with ``DeadlineExceeded`` at once, deletes the running pod, and sets
``Failed`` once the pod is gone — as the Kubernetes 1.31 controller does.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from .store import now_rfc3339

if TYPE_CHECKING:
    from .cluster import Cluster

__all__ = ["JobController", "job_labels", "owned_by", "random_suffix"]

Obj = dict[str, Any]
_TERMINAL = ("Succeeded", "Failed")
_COMPLETED = "Reached expected number of succeeded pods"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet


def owned_by(obj: Obj, uid: str) -> bool:
    """Whether ``obj`` has an ownerReference to ``uid``."""
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def job_labels(name: str, uid: str) -> dict[str, str]:
    """The labels the Job controller puts on its pods (and the apiserver on the template)."""
    return {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }


def random_suffix() -> str:
    """Five characters, as the apiserver appends to a ``generateName``."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(5))


def _condition(kind: str, reason: str, message: str) -> Obj:
    now = now_rfc3339()
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


class _JobState:
    """What the controller remembers of a Job beyond its status."""

    def __init__(self) -> None:
        self.counted: set[str] = set()
        self.failure: tuple[str, str] | None = None
        self.timer: threading.Timer | None = None
        self.started = time.monotonic()


class JobController:
    """Reconciles every Job of a :class:`Cluster` whenever one of its pods changes."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self._state: dict[str, _JobState] = {}

    def job_created(self, job: Obj) -> None:
        """Start the Job: ``startTime``, its first pod, its deadline timer."""
        meta = job["metadata"]
        uid, deadline = meta["uid"], job["spec"].get("activeDeadlineSeconds")
        state = self._state.setdefault(uid, _JobState())
        self.store.mutate("jobs", meta["namespace"], meta["name"], self._start)
        if deadline is not None:
            where = (meta["namespace"], meta["name"])
            state.timer = threading.Timer(deadline, self._deadline, where)
            state.timer.daemon = True
            state.timer.start()
        self.sync(meta["namespace"], meta["name"])

    @staticmethod
    def _start(job: Obj) -> None:
        job["status"] = {"startTime": now_rfc3339(), "active": 0, "ready": 0, "terminating": 0}
        job["status"]["uncountedTerminatedPods"] = {}

    def forget(self, uid: str) -> None:
        """Drop a deleted Job's memory and cancel its deadline."""
        state = self._state.pop(uid, None)
        if state is not None and state.timer is not None:
            state.timer.cancel()

    def pod_removed(self, pod: Obj) -> None:
        """A pod is gone for good: count it failed if it never finished, then resync."""
        for ref in pod["metadata"].get("ownerReferences") or []:
            state = self._state.get(ref.get("uid", ""))
            if ref.get("kind") != "Job" or state is None:
                continue
            with self.store.lock:
                job = self.store.find("jobs", pod["metadata"]["namespace"], ref["name"])
                if job is None:
                    continue
                uid = pod["metadata"]["uid"]
                if uid not in state.counted and pod["status"].get("phase") not in _TERMINAL:
                    state.counted.add(uid)
                    job["status"]["failed"] = job["status"].get("failed", 0) + 1
                    self.store.update("jobs", job)
            self.sync(pod["metadata"]["namespace"], ref["name"])

    def _deadline(self, namespace: str, name: str) -> None:
        with self.store.lock:
            job = self.store.find("jobs", namespace, name)
            if job is None or self._finished(job):
                return
            state = self._state[job["metadata"]["uid"]]
            state.failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
        self.sync(namespace, name)

    @staticmethod
    def _finished(job: Obj) -> bool:
        return any(c["type"] in ("Complete", "Failed") for c in job["status"].get("conditions", []))

    def sync(self, namespace: str, name: str) -> None:
        """Bring the Job's status and pods in line with its pods' states."""
        to_delete: list[Obj] = []
        new_pod: Obj | None = None
        with self.store.lock:
            job = self.store.find("jobs", namespace, name)
            if job is None or job["metadata"]["uid"] not in self._state:
                return
            state = self._state[job["metadata"]["uid"]]
            before = copy.deepcopy(job["status"])
            new_pod, to_delete = self._reconcile(job, state)
            if job["status"] != before:
                self.store.update("jobs", job)
            if new_pod is not None:
                self.cluster.add_pod(new_pod)
        for pod in to_delete:
            self.cluster.delete_pod(namespace, pod["metadata"]["name"], None)

    def _reconcile(self, job: Obj, state: _JobState) -> tuple[Obj | None, list[Obj]]:
        uid, status = job["metadata"]["uid"], job["status"]
        pods = self.store.items("pods", job["metadata"]["namespace"], lambda p: owned_by(p, uid))
        for pod in pods:
            phase = pod["status"].get("phase")
            if phase in _TERMINAL and pod["metadata"]["uid"] not in state.counted:
                state.counted.add(pod["metadata"]["uid"])
                key = "succeeded" if phase == "Succeeded" else "failed"
                status[key] = status.get(key, 0) + 1
        live = [p for p in pods if p["status"].get("phase") not in _TERMINAL]
        status["active"] = sum(1 for p in live if "deletionTimestamp" not in p["metadata"])
        status["terminating"] = sum(1 for p in live if "deletionTimestamp" in p["metadata"])
        status["ready"] = sum(1 for p in live if p["status"].get("phase") == "Running")
        if self._finished(job):
            return None, []
        conditions = status.setdefault("conditions", [])
        if state.failure is None and status.get("succeeded", 0) >= job["spec"]["completions"]:
            for kind in ("SuccessCriteriaMet", "Complete"):
                conditions.append(_condition(kind, "CompletionsReached", _COMPLETED))
            status["completionTime"] = now_rfc3339()
            self._arm_ttl(job)
            return None, []
        if state.failure is None and status.get("failed", 0) > job["spec"]["backoffLimit"]:
            state.failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        if state.failure is not None:
            if not any(c["type"] == "FailureTarget" for c in conditions):
                conditions.append(_condition("FailureTarget", *state.failure))
            if live:
                return None, [p for p in live if "deletionTimestamp" not in p["metadata"]]
            conditions.append(_condition("Failed", *state.failure))
            self._arm_ttl(job)
            return None, []
        if not live and "deletionTimestamp" not in job["metadata"]:
            return self._pod_for(job), []
        return None, []

    def _arm_ttl(self, job: Obj) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        meta = job["metadata"]
        args = ("jobs", meta["namespace"], meta["name"], {"propagationPolicy": "Background"})
        timer = threading.Timer(ttl, self.cluster.delete, args)
        timer.daemon = True
        timer.start()

    @staticmethod
    def _pod_for(job: Obj) -> Obj:
        meta, template = job["metadata"], job["spec"]["template"]
        labels = {
            **(template["metadata"].get("labels") or {}),
            **job_labels(meta["name"], meta["uid"]),
        }
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{meta['name']}-{random_suffix()}",
                "generateName": f"{meta['name']}-",
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": dict(template["metadata"].get("annotations") or {}),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": {"phase": "Pending"},
        }
