"""The fake cluster behind the HTTP API: creation, scheduling, deletion, garbage collection.

Deletion follows the apiserver: a pod gets a ``deletionTimestamp`` and goes once its
container has stopped; a Job deleted with ``propagationPolicy=Foreground`` keeps a
``deletionTimestamp`` and the ``foregroundDeletion`` finalizer until its dependents are
gone; ``Background`` removes it at once and its dependents after; ``Orphan`` (what a
batch/v1 Job gets when no policy is given, as in Kubernetes) leaves its pods running
without an owner. Any object whose ownerReferences all name removed objects is removed
too — pods and Secrets owned by a Job alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import pod_status
from .container_plan import remove_scratch
from .docker_pods import DockerPods
from .errors import ApiError, status_object
from .jobs import JobController, job_labels, owned_by, random_suffix
from .kubelet import Kubelet
from .scheduler import FakeNode, unschedulable_reason
from .store import ObjectStore, now_rfc3339
from .validation import default_and_validate_job, validate_pod_spec, validate_secret

__all__ = ["Cluster", "ClusterSettings"]

Obj = dict[str, Any]
GROUPS = {"jobs": "batch", "pods": "", "secrets": "", "events": ""}
_FOREGROUND = "foregroundDeletion"


@dataclass(frozen=True)
class ClusterSettings:
    """How the fake cluster behaves.

    Attributes:
        node: Capacity and labels of the single node.
        network_mode: Docker network of pod containers: ``none``, or ``host`` when pods
            must reach loopback services.
        claims: PersistentVolumeClaim name to host directory (bind-mounted).
        max_grace_seconds: Cap on a pod's termination grace period, so deleting a pod
            whose PID 1 ignores SIGTERM costs seconds, not 30.
        image_backoff_seconds: Time in ``ErrImagePull`` before ``ImagePullBackOff``.
    """

    node: FakeNode = field(default_factory=FakeNode)
    network_mode: str = "none"
    claims: Mapping[str, str] = field(default_factory=dict)
    max_grace_seconds: float = 2.0
    image_backoff_seconds: float = 1.0


class Cluster:
    """Objects, controllers and the kubelet of one fake apiserver."""

    def __init__(self, docker_client: Any, server_id: str, settings: ClusterSettings) -> None:
        self.settings = settings
        self.store = ObjectStore()
        self.docker = DockerPods(docker_client, server_id, settings.network_mode)
        self.kubelet = Kubelet(
            self.store,
            self.docker,
            dict(settings.claims),
            settings.image_backoff_seconds,
            self._pod_changed,
            self._pod_finished,
        )
        self.jobs = JobController(self)

    # -- creation ----------------------------------------------------------------------

    def create(self, resource: str, namespace: str, body: Obj) -> Obj:
        """Validate, default and store a new object; start what it implies.

        Raises:
            ApiError: 422 for invalid objects, 409 for a taken name.
        """
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        meta["namespace"] = namespace
        if resource == "jobs":
            job = default_and_validate_job(body)
            uid = job["metadata"]["uid"] = str(uuid.uuid4())
            name = job["metadata"]["name"]
            job["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template_meta = job["spec"]["template"]["metadata"]
            template_meta["labels"] = {
                **(template_meta.get("labels") or {}),
                **job_labels(name, uid),
            }
            with self.store.lock:
                created = self.store.create("jobs", job, "batch")
                self.jobs.job_created(created)
            return self.store.get("jobs", namespace, created["metadata"]["name"], "batch")
        if resource == "secrets":
            return self.store.create("secrets", validate_secret(body))
        if resource == "pods":
            body["apiVersion"], body["kind"] = "v1", "Pod"
            causes = validate_pod_spec(body.setdefault("spec", {}), "spec")
            if causes:
                raise ApiError.invalid("Pod", meta.get("name", ""), causes)
            body["status"] = {"phase": "Pending"}
            return self.add_pod(body)
        if resource == "events":
            body["apiVersion"], body["kind"] = "v1", "Event"
            return self.store.create("events", body)
        raise ApiError.method_not_allowed(f"the fake cannot create {resource}")

    def add_pod(self, pod: Obj) -> Obj:
        """Store a new pod and try to schedule it."""
        created = self.store.create("pods", pod)
        self.schedule()
        return created

    def schedule(self) -> None:
        """Bind every pending pod that fits now, in creation order; mark the others."""
        with self.store.lock:
            for pod in self.store.items("pods"):
                if pod["spec"].get("nodeName") or "deletionTimestamp" in pod["metadata"]:
                    continue
                reason = unschedulable_reason(
                    self.settings.node, pod, self._bound(), self.settings.claims
                )
                meta = pod["metadata"]
                if reason is None:
                    self.store.mutate(
                        "pods", meta["namespace"], meta["name"], pod_status.set_scheduled
                    )
                    self.kubelet.start(meta["namespace"], meta["name"])
                    self._pod_changed(meta["namespace"], meta["name"])
                elif pod["status"].get("conditions", [{}])[0].get("message") != reason:
                    self.store.mutate(
                        "pods",
                        meta["namespace"],
                        meta["name"],
                        partial(pod_status.set_unschedulable, message=reason),
                    )

    def _bound(self) -> list[Obj]:
        """Pods on the node whose container has not finished (they hold resources)."""
        bound = []
        for pod in self.store.items("pods", None, lambda p: bool(p["spec"].get("nodeName"))):
            runner = self.kubelet.runner(pod["metadata"]["namespace"], pod["metadata"]["name"])
            if runner is not None and not runner.done.is_set():
                bound.append(pod)
        return bound

    # -- pod lifecycle -----------------------------------------------------------------

    def _owner_jobs(self, namespace: str, name: str) -> list[str]:
        pod = self.store.find("pods", namespace, name)
        refs = (pod or {}).get("metadata", {}).get("ownerReferences") or []
        return [ref["name"] for ref in refs if ref.get("kind") == "Job"]

    def _pod_changed(self, namespace: str, name: str) -> None:
        for job in self._owner_jobs(namespace, name):
            self.jobs.sync(namespace, job)

    def _pod_finished(self, namespace: str, name: str) -> None:
        with self.store.lock:
            pod = self.store.find("pods", namespace, name)
            deleting = pod is not None and "deletionTimestamp" in pod["metadata"]
        self._pod_changed(namespace, name)
        if deleting:
            self._remove("pods", namespace, name)
        self.schedule()

    def delete_pod(self, namespace: str, name: str, grace: float | None) -> Obj:
        """Start a graceful delete: ``deletionTimestamp`` now, gone when stopped.

        Raises:
            ApiError: 404 if there is no such pod.
        """
        with self.store.lock:
            pod = self.store.find("pods", namespace, name)
            if pod is None:
                raise ApiError.not_found("pods", name)
            if grace is None:
                grace = float(pod["spec"].get("terminationGracePeriodSeconds", 30))
            grace = min(grace, self.settings.max_grace_seconds)
            if "deletionTimestamp" not in pod["metadata"]:
                pod["metadata"]["deletionTimestamp"] = now_rfc3339()
                pod["metadata"]["deletionGracePeriodSeconds"] = int(grace)
                self.store.update("pods", pod)
            answer = self.store.get("pods", namespace, name)
            runner = self.kubelet.runner(namespace, name)
        if runner is None or runner.done.is_set():
            self._remove("pods", namespace, name)
        else:
            self.kubelet.terminate(runner, grace)
        self._pod_changed(namespace, name)
        return answer

    def evict(self, namespace: str, name: str, message: str) -> None:
        """Evict a pod as a kubelet under pressure would: killed, Failed, ``Evicted``."""
        runner = self.kubelet.runner(namespace, name)
        if runner is not None and not runner.done.is_set():
            self.kubelet.terminate(runner, 0, eviction=message)
            return
        self.store.mutate("pods", namespace, name, lambda p: pod_status.set_evicted(p, message))
        self._pod_changed(namespace, name)

    # -- deletion and garbage collection -----------------------------------------------

    def delete(self, resource: str, namespace: str, name: str, options: Obj) -> Obj:
        """Delete one object as ``DeleteOptions`` say; the answer the apiserver gives.

        Raises:
            ApiError: 404 if there is no such object.
        """
        group = GROUPS.get(resource, "")
        if resource == "pods":
            grace = options.get("gracePeriodSeconds")
            return self.delete_pod(namespace, name, None if grace is None else float(grace))
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        policy = policy or ("Orphan" if resource == "jobs" else "Background")
        if policy not in ("Orphan", "Background", "Foreground"):
            raise ApiError.bad_request(f"unsupported propagationPolicy {policy!r}")
        with self.store.lock:
            obj = self.store.find(resource, namespace, name)
            if obj is None:
                raise ApiError.not_found(resource, name, group)
            uid = obj["metadata"]["uid"]
            details = {"name": name, "group": group, "kind": resource, "uid": uid}
            if policy == "Foreground":
                if "deletionTimestamp" not in obj["metadata"]:
                    obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                    obj["metadata"]["deletionGracePeriodSeconds"] = 0
                    obj["metadata"].setdefault("finalizers", []).append(_FOREGROUND)
                    self.store.update(resource, obj)
                answer = self.store.get(resource, namespace, name)
            else:
                answer = status_object(200, "", "", details)
                if policy == "Orphan":
                    self._orphan(namespace, uid)
        if policy == "Foreground":
            self._delete_dependents(namespace, uid)
            self._finish_foreground(resource, namespace, name)
        else:
            self._remove(resource, namespace, name)
        return answer

    def _orphan(self, namespace: str, uid: str) -> None:
        for resource in GROUPS:
            for obj in self.store.items(resource, namespace, lambda o: owned_by(o, uid)):
                refs = obj["metadata"]["ownerReferences"]
                obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self.store.update(resource, obj)

    def _dependents(self, namespace: str, uid: str) -> list[tuple[str, Obj]]:
        return [
            (resource, obj)
            for resource in GROUPS
            for obj in self.store.items(resource, namespace, lambda o: owned_by(o, uid))
        ]

    def _delete_dependents(self, namespace: str, uid: str) -> None:
        for resource, obj in self._dependents(namespace, uid):
            name = obj["metadata"]["name"]
            if resource == "pods":
                self.delete_pod(namespace, name, None)
            else:
                self.delete(resource, namespace, name, {"propagationPolicy": "Background"})

    def _finish_foreground(self, resource: str, namespace: str, name: str) -> None:
        with self.store.lock:
            obj = self.store.find(resource, namespace, name)
            if obj is None or _FOREGROUND not in (obj["metadata"].get("finalizers") or []):
                return
            if self._dependents(namespace, obj["metadata"]["uid"]):
                return
            obj["metadata"]["finalizers"].remove(_FOREGROUND)
            self.store.update(resource, obj)
        self._remove(resource, namespace, name)

    def _remove(self, resource: str, namespace: str, name: str) -> None:
        """Remove for good, then collect dependents and finish waiting foreground owners."""
        with self.store.lock:
            obj = self.store.remove(resource, namespace, name)
            if obj is None:
                return
        uid = obj["metadata"]["uid"]
        if resource == "pods":
            self.kubelet.forget(namespace, name)
            remove_scratch(uid)
            self.jobs.pod_removed(obj)
        if resource == "jobs":
            self.jobs.forget(uid)
        self._delete_dependents(namespace, uid)
        for ref in obj["metadata"].get("ownerReferences") or []:
            owner_resource = {"Job": "jobs", "Pod": "pods", "Secret": "secrets"}.get(ref["kind"])
            if owner_resource:
                self._finish_foreground(owner_resource, namespace, ref["name"])

    # -- shutdown ----------------------------------------------------------------------

    def wipe(self, timeout: float = 15.0) -> list[str]:
        """Delete everything now (no grace) and wait; the names of pods that stayed."""
        with self.store.lock:
            jobs = [o["metadata"] for o in self.store.items("jobs")]
        for meta in jobs:
            self.delete(
                "jobs", meta["namespace"], meta["name"], {"propagationPolicy": "Background"}
            )
        with self.store.lock:
            pods = [o["metadata"] for o in self.store.items("pods")]
        for meta in pods:
            self.delete_pod(meta["namespace"], meta["name"], 0)
        for runner in list(self.kubelet.runners.values()):
            runner.done.wait(timeout)
        for resource in ("secrets", "events"):
            for obj in self.store.items(resource):
                self.store.remove(resource, obj["metadata"]["namespace"], obj["metadata"]["name"])
        return [o["metadata"]["name"] for o in self.store.items("pods")]
