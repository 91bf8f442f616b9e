"""The fake apiserver's object table: resourceVersions, watch history, copies out.

Everything is a plain JSON dict keyed by ``(resource, namespace, name)``. One lock guards
the table and a condition wakes watchers on every change; controllers mutate objects only
through :meth:`ObjectStore.update` so each change gets a new ``resourceVersion`` and a
``MODIFIED`` event, as a real watch would show it.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError

__all__ = ["HISTORY", "ObjectStore", "WatchEvent", "now_rfc3339"]

HISTORY = 20000  # watch events kept; an older resourceVersion gets 410 Gone
Obj = dict[str, Any]


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps (seconds, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WatchEvent:
    """One change: its resourceVersion, resource (``pods``), type and the object after it."""

    rv: int
    resource: str
    type: str
    obj: Obj


class ObjectStore:
    """Namespaced objects of every resource the fake serves."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[tuple[str, str, str], Obj] = {}
        self._rv = 0
        self._events: deque[WatchEvent] = deque(maxlen=HISTORY)
        self.closed = False

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out."""
        return self._rv

    def _record(self, resource: str, kind: str, obj: Obj) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._events.append(WatchEvent(self._rv, resource, kind, copy.deepcopy(obj)))
        self.changed.notify_all()

    def create(self, resource: str, obj: Obj, group: str = "") -> Obj:
        """Store a new object, filling uid, creationTimestamp and resourceVersion.

        Raises:
            ApiError: 409 if the name is taken in its namespace.
        """
        meta = obj.setdefault("metadata", {})
        key = (resource, meta.get("namespace", ""), meta["name"])
        with self.lock:
            if key in self._objects:
                raise ApiError.already_exists(resource, meta["name"], group)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta["creationTimestamp"] = now_rfc3339()
            meta.setdefault("generation", 1)
            self._objects[key] = obj
            self._record(resource, "ADDED", obj)
            return copy.deepcopy(obj)

    def find(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The live object (not a copy: hold :attr:`lock` while reading it), or None."""
        return self._objects.get((resource, namespace, name))

    def get(self, resource: str, namespace: str, name: str, group: str = "") -> Obj:
        """A copy of the object.

        Raises:
            ApiError: 404 if there is none.
        """
        with self.lock:
            obj = self.find(resource, namespace, name)
            if obj is None:
                raise ApiError.not_found(resource, name, group)
            return copy.deepcopy(obj)

    def update(self, resource: str, obj: Obj) -> Obj:
        """Record a change of a live object (already mutated by the caller) as MODIFIED."""
        with self.lock:
            self._record(resource, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def mutate(
        self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]
    ) -> Obj | None:
        """Apply ``change`` to the live object and record it; None if it is gone."""
        with self.lock:
            obj = self.find(resource, namespace, name)
            if obj is None:
                return None
            change(obj)
            return self.update(resource, obj)

    def remove(self, resource: str, namespace: str, name: str) -> Obj | None:
        """Delete the object for good (a DELETED event); None if it was not there."""
        with self.lock:
            obj = self._objects.pop((resource, namespace, name), None)
            if obj is not None:
                self._record(resource, "DELETED", obj)
            return obj

    def items(
        self,
        resource: str,
        namespace: str | None = None,
        predicate: Callable[[Obj], bool] | None = None,
    ) -> list[Obj]:
        """Live objects of ``resource`` (all namespaces for None), oldest first."""
        with self.lock:
            return [
                obj
                for (res, ns, _), obj in self._objects.items()
                if res == resource
                and (namespace is None or ns == namespace)
                and (predicate is None or predicate(obj))
            ]

    def namespaces(self) -> set[str]:
        """Every namespace that holds an object."""
        with self.lock:
            return {ns for (_, ns, _) in self._objects if ns}

    def watch(
        self,
        resource: str,
        namespace: str | None,
        predicate: Callable[[Obj], bool],
        since: int | None,
        deadline: float,
        stopping: Callable[[], bool],
    ) -> Iterator[tuple[str, Obj]]:
        """Events of ``resource`` after resourceVersion ``since`` until ``deadline``.

        With ``since`` None, the matching objects first come as ``ADDED`` (a list+watch in
        one), as the apiserver does for a watch without a resourceVersion.

        Raises:
            ApiError: 410 Gone if ``since`` is older than the kept history.
        """
        with self.lock:
            if since is None:
                initial = [copy.deepcopy(o) for o in self.items(resource, namespace, predicate)]
                cursor = self._rv
            else:
                initial = []
                oldest = self._events[0].rv if self._events else self._rv + 1
                if since < oldest - 1 and since < self._rv:
                    raise ApiError(410, "Expired", f"too old resource version: {since}")
                cursor = since
        return self._follow(resource, namespace, predicate, initial, cursor, deadline, stopping)

    def _follow(
        self,
        resource: str,
        namespace: str | None,
        predicate: Callable[[Obj], bool],
        initial: list[Obj],
        cursor: int,
        deadline: float,
        stopping: Callable[[], bool],
    ) -> Iterator[tuple[str, Obj]]:
        for obj in initial:
            yield "ADDED", obj
        while not stopping() and not self.closed:
            with self.lock:
                fresh = [e for e in self._events if e.rv > cursor]
                if not fresh:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self.changed.wait(min(left, 0.5))
                    continue
                cursor = fresh[-1].rv
            for event in fresh:
                meta = event.obj["metadata"]
                if event.resource != resource:
                    continue
                if namespace is not None and meta.get("namespace") != namespace:
                    continue
                if predicate(event.obj):
                    yield event.type, event.obj

    def close(self) -> None:
        """Wake and end every watch (the server is stopping)."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()
