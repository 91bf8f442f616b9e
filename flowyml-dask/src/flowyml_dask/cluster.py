"""The Dask cluster of one run: connect (or create), inspect, stop and close.

The backend owns and closes only what it created: a ``LocalCluster`` made for the run is
closed with it; an existing scheduler is only disconnected from. Anything about the
cluster the executor needs to know (which resources its workers offer, why a worker died,
whether the artifact store is visible to every worker) is asked here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

from flowyml.backend import BackendError, parse_memory

__all__ = ["RunCluster", "WorkerDied", "is_loopback"]

# The nanny's event when it restarts a worker for memory (distributed.worker_memory).
_MEMORY_EVENT = "worker-restart-memory"


class WorkerDied(Exception):
    """A worker died while running a group task (the reason names why)."""

    def __init__(self, reason: str, address: str) -> None:
        super().__init__(reason)
        self.address = address


class RunCluster:
    """A client of the scheduler a run uses, and the local cluster it may have created.

    Args:
        address: an existing scheduler, or ``None`` to create a ``LocalCluster``.
        n_workers: workers of the local cluster.
        threads_per_worker: threads of each local worker.
        memory_limit: each local worker's memory (``"auto"``, ``"0"`` or a quantity).
        dashboard: serve the local cluster's dashboard.
        connect_timeout: seconds to wait for the scheduler.

    Raises:
        BackendError: the scheduler cannot be reached, or the local cluster cannot start.
    """

    def __init__(
        self,
        address: str | None,
        *,
        n_workers: int,
        threads_per_worker: int,
        memory_limit: str,
        dashboard: bool,
        connect_timeout: float,
    ) -> None:
        import dask
        from distributed import Client, LocalCluster

        self.cluster: Any = None
        try:
            if address is None:
                limit: str | int = memory_limit
                if memory_limit not in ("auto", "0"):
                    limit = parse_memory(memory_limit)
                # One attempt per step: a worker dying mid-step fails that attempt
                # (KilledWorker) and the step's retry policy decides, not Dask's resubmission.
                with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                    self.cluster = LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=n_workers,
                        threads_per_worker=threads_per_worker,
                        memory_limit=limit,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=":0" if dashboard else None,
                    )
                address = self.cluster.scheduler_address
            self.address: str = address
            self.client: Any = Client(  # type: ignore[no-untyped-call]
                address, timeout=connect_timeout, set_as_default=False
            )
        except OSError as exc:  # includes the client's TimeoutError
            self.close()
            where = address or "a new LocalCluster"
            raise BackendError(
                f"dask: cannot reach the scheduler at {where}: {exc}; start one with "
                "`dask scheduler`, or fix `address` (or DASK_SCHEDULER_ADDRESS)"
            ) from exc

    @property
    def owned(self) -> bool:
        """Whether this run created the cluster (and so closes it)."""
        return self.cluster is not None

    @property
    def alive(self) -> bool:
        """Whether the client is still connected (or reconnecting) to the scheduler."""
        return self.client.status in ("running", "connecting", "newly-created")

    def workers(self) -> dict[str, dict[str, Any]]:
        """Worker address -> what the scheduler knows of it (``resources``, ``host``...)."""
        info = self.client.scheduler_info(n_workers=-1)
        return dict(info.get("workers", {}))

    def missing_resources(self, wanted: dict[str, float]) -> list[str]:
        """The resources of ``wanted`` no single worker offers in that quantity, as
        ``NAME=N`` (empty when some worker offers them all)."""
        workers = self.workers().values()
        for worker in workers:
            offered = worker.get("resources") or {}
            if all(offered.get(name, 0) >= amount for name, amount in wanted.items()):
                return []
        missing = []
        for name, amount in wanted.items():
            if not any((w.get("resources") or {}).get(name, 0) >= amount for w in workers):
                missing.append(f"{name}={amount:g}")
        return missing or [f"{n}={a:g} together" for n, a in wanted.items()]

    def advertised(self) -> str:
        """What every worker advertises, for error messages."""
        parts = []
        for address, worker in self.workers().items():
            offered = worker.get("resources") or {}
            listed = " ".join(f"{n}={v:g}" for n, v in offered.items()) or "no resources"
            parts.append(f"{address}: {listed}")
        return "; ".join(parts) or "no workers"

    def why_worker_died(self, address: str) -> str:
        """The nanny's reason when it restarted ``address`` for memory, else a general one."""
        try:
            events = self.client.get_events(_MEMORY_EVENT)
        except Exception:  # only enriches a message; the death is reported anyway
            events = ()
        for _when, event in reversed(list(events)):
            if isinstance(event, dict) and event.get("worker") == address:
                rss = event.get("rss", 0) / 2**20
                return (
                    f"its Dask worker {address} was restarted by its nanny for exceeding 95% "
                    f"of its memory limit ({rss:.0f} MiB in use): give the workers more memory "
                    "(`memory_limit`, `dask worker --memory-limit`) or the step less data"
                )
        return f"its Dask worker {address} died while running it (KilledWorker)"

    def store_invisible_to(self, path: str) -> list[str]:
        """The workers on which the local folder ``path`` does not exist."""
        seen = self.client.run(os.path.isdir, path)
        return sorted(address for address, found in seen.items() if not found)

    def check_store(self, root: str) -> None:
        """A local artifact store must be the same folder on every worker."""
        if "://" in root and not root.startswith("file://"):
            return  # an object store (gs://, s3://...): reachable by URI from anywhere
        remote = [w for w in self.workers() if not is_loopback(w)]
        if not remote:
            return
        path = root.removeprefix("file://")
        blind = self.store_invisible_to(path)
        if blind:
            raise BackendError(
                f"dask: the artifact store {root} is a local folder that workers {blind} "
                "cannot see; mount a shared file system at the same path on every worker, or "
                "set the stack's artifact_store to gs://... or s3://..."
            )

    def stop_tasks(self, futures: list[Any], key_prefix: str) -> None:
        """Cancel ``futures`` and stop the tasks of ``key_prefix`` running on workers.

        A task that already runs cannot be interrupted inside a worker thread: its worker
        is restarted by its nanny (an owned local cluster is closed instead). Without a
        scheduler nothing is asked: nothing of the run can be scheduled any more, and each
        question would wait ``connect_timeout`` for it.
        """
        if self.client.status != "running":
            if self.owned:
                self.close()
            return
        running: list[str] = []
        try:
            processing = self.client.processing()
            running = [
                worker
                for worker, keys in processing.items()
                if any(str(k).startswith(key_prefix) for k in keys)
            ]
        except Exception as exc:  # the scheduler may be gone: nothing runs there
            print(f"flowyml-dask: cannot ask the scheduler what runs: {exc}", file=sys.stderr)
        try:
            self.client.cancel(futures, force=True)
        except Exception as exc:  # same: a lost scheduler runs nothing more
            print(f"flowyml-dask: cannot cancel the run's tasks: {exc}", file=sys.stderr)
        if self.owned:
            self.close()
        elif running:
            self.restart_workers(running, "to stop this run's steps")

    def restart_workers(self, addresses: list[str], why: str) -> None:
        """Restart workers through their nannies (tasks running there fail as if the
        worker died); a failure is reported on stderr, naming what the user must do."""
        try:
            self.client.restart_workers(addresses, raise_for_error=True)
        except Exception as exc:  # reported: the user must act on it
            print(
                f"flowyml-dask: could not restart workers {addresses} {why} ({exc}); "
                "workers need a nanny (the default of `dask worker`)",
                file=sys.stderr,
            )

    def held_only_on(self, address: str, futures: dict[str, Any]) -> list[str]:
        """The names of ``futures`` whose results only worker ``address`` holds."""
        if not futures:
            return []
        try:
            where = self.client.who_has(list({f.key: f for f in futures.values()}.values()))
        except Exception:  # only spares recomputing values: the restart happens anyway
            return list(futures)
        return [n for n, f in futures.items() if list(where.get(f.key, ())) in ([], [address])]

    def close(self) -> None:
        """Disconnect; close the local cluster when this run created it."""
        client = getattr(self, "client", None)
        if client is not None:
            # Closing a client that still tries to reach a lost scheduler cancels that
            # attempt, which distributed logs as an error with a traceback: noise, as the
            # loss is reported already. Bounded, so that it cannot wait for the scheduler.
            quiet = _DropCancelled()
            logger = logging.getLogger("distributed.client")
            logger.addFilter(quiet)
            try:
                client.close(timeout=5)
            finally:
                logger.removeFilter(quiet)
        if self.cluster is not None:
            self.cluster.close()


class _DropCancelled(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def is_loopback(address: str) -> bool:
    """Whether a worker address is on this machine."""
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1", socket.gethostname())
