"""A pipeline whose middle step fails in every way a user can meet, chosen by ``fault``.

Copied into the test project of ``test_vertex_faults.py`` (as ``fault_pipelines.py``) and
so into the image the jobs run: each step is one Vertex AI CustomJob. A step that is
about to misbehave prints ``misbehave: FAULT`` first, so a test can tell from the job's
log that the step code runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

from flowyml import Context, Pipeline, step


@step(outputs=["a"])
def produce() -> int:
    return 1


@step(inputs=["a"], outputs=["b"])
def misbehave(a: int, fault: str = "none") -> int:
    print(f"misbehave: {fault}", flush=True)
    if fault == "raise":
        raise RuntimeError("the step broke")
    if fault == "exit0":
        sys.exit(0)
    if fault == "exit3":
        sys.exit(3)
    if fault == "keyboard":
        raise KeyboardInterrupt
    if fault == "os_exit":
        os._exit(7)
    if fault == "segfault":
        ctypes.string_at(0)
    if fault == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "hang":
        time.sleep(120)
    return a + 1


@step(inputs=["b"], outputs=["c"])
def consume(b: int) -> int:
    return b * 10


faulty = Pipeline("faulty", steps=[produce, misbehave, consume], context=Context(fault="none"))
