"""A fork server: fresh step processes without paying for a Python start-up each time.

Starting an interpreter and importing flowyml and pydantic costs ~0.3 s; forking a
process that has already imported them costs a few milliseconds. The server is a
separate, clean interpreter (never the user's process, whose state the steps must not
inherit) that imports the step runner once and then forks one child per launch. Each
child starts its own session (so a timeout can kill its whole process tree), sends its
output to a log file, runs the step runner and exits; the server reports its exit
status. Each step still runs in a process of its own that no other step ran in.

Protocol, one JSON object per line. Client to server on stdin:
``{"id": N, "args": [...], "env": {...}, "log": PATH}``. Server to client on stdout:
``{"id": N, "pid": PID}`` once forked, ``{"id": N, "status": WAITSTATUS, "rusage": [USER,
SYSTEM, PEAK_BYTES]}`` when it ended (its CPU seconds and peak resident memory, with those
of the processes it waited for, as ``wait4`` reports them).
When stdin closes (the client exited, or was killed) the server kills the children still
running and exits once they are reaped: no step outlives the process that owns its run.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO, Any

from flowyml.backend import ResourceUsage
from flowyml_local.module_preload import Preload, import_in_child, preload_modules

__all__ = ["ChildExit", "ForkServer", "serve"]

_START = "from flowyml_local.fork_server import serve; serve()"


@dataclass(frozen=True)
class ChildExit:
    """How a forked child ended, and what it and the children it waited for used.

    Attributes:
        status: its wait status.
        cpu_user_seconds: CPU time in user mode.
        cpu_system_seconds: CPU time in the kernel.
        peak_memory_bytes: the largest peak resident memory among them.
    """

    status: int
    cpu_user_seconds: float = 0.0
    cpu_system_seconds: float = 0.0
    peak_memory_bytes: int | None = None

    def usage(self, wall_seconds: float) -> ResourceUsage:
        """What the whole child used: recorded for the step that was running when it died
        (a step that ended wrote its own, per step)."""
        return ResourceUsage(
            wall_seconds=wall_seconds,
            cpu_user_seconds=self.cpu_user_seconds,
            cpu_system_seconds=self.cpu_system_seconds,
            peak_memory_bytes=self.peak_memory_bytes,
            gpu_peak_memory_bytes=None,
            exact=True,
            source="rusage",
            memory_limit_bytes=None,
        )


def _reseed_random_generators() -> None:
    """Give the child fresh random state, as a fresh interpreter has.

    The server imported the pipeline's modules before forking, so every child starts with
    their generators in the same state: without this, steps that draw from numpy's (or
    torch's) global generator unseeded would all draw the same numbers. Python's own
    ``random`` reseeds itself after a fork.
    """
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()  # from the OS's entropy, like a fresh import
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "seed"):
        torch.seed()


def _run_child(request: dict[str, Any]) -> None:
    """In the forked child: become a session leader, redirect output, run, exit."""
    code = 70
    try:
        os.setsid()
        fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.environ.update(request.get("env", {}))
        sys.path[:0] = [p for p in request.get("path", []) if p not in sys.path]
        _reseed_random_generators()
        from flowyml.backend import step_runner_main

        args = request["args"]
        try:
            if args[:1] != ["step-runner"]:
                raise ValueError(f"the fork server runs only step-runner commands, not {args}")
            # Already imported when the server preloaded them; else imported here, as a
            # fresh interpreter would, and a failure named before any step starts.
            failure = import_in_child(tuple(request.get("modules", [])))
            if failure is not None:
                with open(request["import_error"], "w", encoding="utf-8") as report:
                    report.write(failure)
                code = 1
            else:
                code = step_runner_main(args[1:])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
    finally:
        from flowyml.backend import flush_run_records

        flush_run_records()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """The server loop (runs in the server process)."""
    from flowyml.backend import preload_step_runner

    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what an import prints must not mix with the answers
    preload_step_runner()  # import the step runner and the plugins once, in the template
    sys.path[:0] = [p for p in spec.get("path", []) if p not in sys.path]
    report = preload_modules(tuple(spec.get("targets", [])))
    out.write(json.dumps({"ready": report.to_json()}) + "\n")
    children: dict[int, int] = {}
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    buffered = b""
    open_input = True
    while open_input or children:
        if selector.select(timeout=0.005) and open_input:
            # Raw reads, not readline on a buffered stream: a buffered line would not wake
            # select again.
            data = os.read(0, 65536)
            if not data:
                open_input = False
                selector.unregister(0)
                # The client closed its end: it exited, normally (nothing runs any more)
                # or killed, when its steps must not run on as orphans.
                _kill_groups(children)
            buffered += data
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    _run_child(request)
                children[pid] = request["id"]
                open_input = _answer(out, {"id": request["id"], "pid": pid}, children)
        while children:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                break
            request_id = children.pop(pid, None)
            if request_id is not None and open_input:
                peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
                rusage = [usage.ru_utime, usage.ru_stime, peak]
                answer = {"id": request_id, "status": status, "rusage": rusage}
                open_input = _answer(out, answer, children)


def _answer(out: IO[str], message: dict[str, Any], children: dict[int, int]) -> bool:
    """Send one answer; False when the client is gone (its children are then killed)."""
    try:
        out.write(json.dumps(message) + "\n")
        return True
    except BrokenPipeError:
        _kill_groups(children)
        return False


def _kill_groups(children: dict[int, int]) -> None:
    """SIGKILL the process group of every child still running (each is a session leader)."""
    import signal

    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended on its own meanwhile
            continue


class ForkServer:
    """The client side: starts the server lazily and routes its answers to launches.

    Args:
        python: the interpreter of the server.
        env: the server's environment.
        targets: the modules (or files) it imports before forking, if any.
        path: the import path it finds them on.
    """

    def __init__(
        self,
        python: str,
        env: dict[str, str],
        targets: tuple[str, ...] = (),
        path: tuple[str, ...] = (),
    ) -> None:
        self._python = python
        self._env = env
        self.targets = targets
        self._path = path
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._next_id = 0
        self._ready: Future[Preload] = Future()
        self._pids: dict[int, Future[int]] = {}
        self._statuses: dict[int, Future[ChildExit]] = {}

    def _ensure_started(self) -> Future[Preload]:
        if self._process is None or self._process.poll() is not None:
            spec = json.dumps({"targets": list(self.targets), "path": list(self._path)})
            self._ready = Future()
            self._process = subprocess.Popen(
                [self._python, "-c", _START, spec],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self._env,
                text=True,
                bufsize=1,
                start_new_session=True,  # Ctrl-C in a terminal must not kill the template
            )
            stdout = self._process.stdout
            assert stdout is not None
            threading.Thread(
                target=self._read,
                args=(stdout, self._ready),
                name="flowyml-fork-server",
                daemon=True,
            ).start()
        return self._ready

    def _read(self, stream: IO[str], ready: Future[Preload]) -> None:
        for line in stream:
            message = json.loads(line)
            with self._lock:
                if "ready" in message:
                    ready.set_result(Preload.from_json(message["ready"]))
                elif "pid" in message:
                    self._pids.pop(message["id"]).set_result(message["pid"])
                else:
                    user, system, peak = message.get("rusage") or (0.0, 0.0, None)
                    ended = ChildExit(message["status"], user, system, peak)
                    self._statuses.pop(message["id"]).set_result(ended)
        with self._lock:  # the server died: fail whatever still waits on it
            if not ready.done():
                ready.set_exception(RuntimeError("the fork server exited while starting"))
            waiting: list[Future[Any]] = [*self._pids.values(), *self._statuses.values()]
            for future in waiting:
                future.set_exception(RuntimeError("the fork server exited"))
            self._pids.clear()
            self._statuses.clear()

    def preload(self, timeout: float | None = None) -> Preload:
        """Start the server if need be and wait until it has imported its modules.

        A server whose imports started threads is replaced by one that imports nothing
        (its children import the modules themselves).

        Raises:
            concurrent.futures.TimeoutError: it is still importing after ``timeout`` s.
        """
        with self._lock:
            ready = self._ensure_started()
        report = ready.result(timeout=timeout)
        if report.forkable:
            return report
        self.close()
        self.targets = ()
        return self.preload(timeout)

    def stale(self) -> str | None:
        """The file whose change makes this server's modules out of date, or ``None``
        (also while it is still importing them: it reads the files as they are now)."""
        ready = self._ready
        if not ready.done() or ready.exception() is not None:
            return None
        return ready.result().changed()

    @property
    def in_flight(self) -> int:
        """How many children were asked for and have not ended yet."""
        with self._lock:
            return len(self._statuses)

    def launch(
        self,
        args: list[str],
        env: dict[str, str],
        log: str,
        path: list[str],
        modules: tuple[str, ...] = (),
    ) -> tuple[int, Future[ChildExit]]:
        """Fork a child running ``flowyml ARGS``; returns its pid and how it ends.

        The child imports ``modules`` first (a no-op for those the server imported);
        when that fails, it writes why to ``log + ".import-error"`` and exits with 1.
        """
        pid_future: Future[int] = Future()
        status_future: Future[ChildExit] = Future()
        with self._lock:
            self._ensure_started()
            process = self._process
            assert process is not None and process.stdin is not None
            self._next_id += 1
            request_id = self._next_id
            self._pids[request_id] = pid_future
            self._statuses[request_id] = status_future
            request = {
                "id": request_id,
                "args": args,
                "env": env,
                "log": log,
                "path": path,
                "modules": list(modules),
                "import_error": log + ".import-error",
            }
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
        return pid_future.result(timeout=60), status_future

    def close(self) -> None:
        """Stop the server; children still running are killed with it."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                assert self._process.stdin is not None
                self._process.stdin.close()
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
