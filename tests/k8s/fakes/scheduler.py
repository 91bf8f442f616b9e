"""The one fake node and the scheduler's fit check, with kube-scheduler's messages.

A pod fits when its ``nodeSelector`` matches the node's labels, each of its
``persistentVolumeClaim`` volumes is mapped to a host directory, and its requests (limits
stand in for missing requests, as the apiserver defaults them) plus those of the pods
already bound and not finished fit the node's allocatable resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .quantities import parse_quantity

__all__ = ["NODE_NAME", "FakeNode", "pod_requests", "unschedulable_reason"]

NODE_NAME = "fake-node"
_BOOTED = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
_DEFAULT_LABELS = {
    "kubernetes.io/hostname": NODE_NAME,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
}


@dataclass(frozen=True)
class FakeNode:
    """Capacity and labels of the fake's single node.

    Attributes:
        cpu: CPU capacity as a quantity (``"2"``, ``"1500m"``).
        memory: Memory capacity as a quantity (``"4Gi"``).
        extended: Other resources, e.g. ``{"nvidia.com/gpu": "1"}`` (none by default).
        labels: Node labels that ``nodeSelector`` is matched against (added to the
            ``kubernetes.io/hostname``, ``/os`` and ``/arch`` labels).
    """

    cpu: str = "2"
    memory: str = "4Gi"
    extended: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def capacity(self) -> dict[str, str]:
        """The node's resources as ``status.capacity`` shows them."""
        return {"cpu": self.cpu, "memory": self.memory, "pods": "110", **self.extended}

    def all_labels(self) -> dict[str, str]:
        """The node's labels, defaults included."""
        return {**_DEFAULT_LABELS, **self.labels}

    def as_object(self) -> dict[str, Any]:
        """The node as a core/v1 Node, for ``GET /api/v1/nodes``."""
        return {
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {
                "name": NODE_NAME,
                "labels": self.all_labels(),
                "uid": NODE_NAME,
                "creationTimestamp": _BOOTED,
            },
            "spec": {},
            "status": {
                "capacity": self.capacity(),
                "allocatable": self.capacity(),
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "nodeInfo": {"kubeletVersion": "v1.31.0-fake", "operatingSystem": "linux"},
            },
        }


def pod_requests(pod: Mapping[str, Any]) -> dict[str, Decimal]:
    """What a pod asks of a node: its containers' requests, limits standing in."""
    total: dict[str, Decimal] = {}
    for container in pod["spec"].get("containers", []):
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, quantity in wanted.items():
            total[name] = total.get(name, Decimal(0)) + parse_quantity(quantity)
    return total


def unschedulable_reason(
    node: FakeNode,
    pod: Mapping[str, Any],
    bound: Iterable[Mapping[str, Any]],
    claims: Mapping[str, str],
) -> str | None:
    """Why ``pod`` cannot go on the node now, as kube-scheduler says it; None if it fits.

    Args:
        node: The node.
        pod: The pod to place.
        bound: Pods already on the node and not finished.
        claims: PersistentVolumeClaim names the fake knows.
    """
    for volume in pod["spec"].get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim is not None and claim not in claims:
            return f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found.'
    labels = node.all_labels()
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    used: dict[str, Decimal] = {}
    for other in bound:
        for name, amount in pod_requests(other).items():
            used[name] = used.get(name, Decimal(0)) + amount
    capacity = {name: parse_quantity(value) for name, value in node.capacity().items()}
    short = sorted(
        name
        for name, amount in pod_requests(pod).items()
        if amount > 0 and amount + used.get(name, Decimal(0)) > capacity.get(name, Decimal(0))
    )
    if short:
        reasons = ", ".join(f"1 Insufficient {name}" for name in short)
        return (
            f"0/1 nodes are available: {reasons}. preemption: 0/1 nodes are available: "
            "1 No preemption victims found for incoming pod."
        )
    return None
