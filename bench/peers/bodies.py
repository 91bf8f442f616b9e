"""Step bodies and workload constants shared by every tool adapter.

Every adapter wraps *these* functions with its own decorators or step objects, so the
work done inside a step is byte-for-byte the same for every tool.  The module runs
inside each tool's virtual environment; it needs only the standard library (NumPy is
imported lazily by the W4 bodies).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CHAIN_LENGTH = 1000
"""W1/W3: number of `increment`/`add` steps after the source step."""

FANOUT_WIDTH = 64
"""W2: number of independent sleeping steps."""

NAP_SECONDS = 0.1
"""W2: how long each independent step sleeps."""

WIDE_WIDTH = 1000
"""W6: number of independent trivial `echo` steps before the join."""

ARRAY_BYTES = 200 * 1024 * 1024
"""W4: size of the array handed from one step to the next (200 MiB)."""

ARRAY_LENGTH = ARRAY_BYTES // 8
"""W4: float64 element count."""

CHANGED_STEP = 500
"""W3: 1-based index of the step whose parameter changes in the last phase."""

CHANGED_INC = CHAIN_LENGTH + 1
"""W3: new parameter of `CHANGED_STEP`.

Chosen so that every input downstream of the change (>= 1500) differs from every input
seen in the first run (<= 999).  A content-addressed cache (e.g. Prefect's INPUTS policy)
would otherwise legitimately reuse `add(501, 1)` computed by the first run's step 502,
and the re-execution count would no longer say whether dependants were invalidated.
"""

EXEC_LOG_ENV = "BENCH_EXEC_LOG"
"""Environment variable naming the side-channel file that counts step executions."""


def record_execution() -> None:
    """Append one byte to the side-channel file (if configured): size == executions."""
    path = os.environ.get(EXEC_LOG_ENV)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)


def source() -> int:
    """First step of the W1/W3 chains."""
    return 0


def increment(x: int) -> int:
    """W1 step: previous value plus one."""
    return x + 1


def add(x: int, inc: int) -> int:
    """W3 step: previous value plus this step's parameter; counts its executions."""
    record_execution()
    return x + inc


def nap(i: int) -> int:
    """W2 independent step: sleep, then return its index."""
    time.sleep(NAP_SECONDS)
    return i


def total(values: Iterable[int]) -> int:
    """W2/W6 join step."""
    return sum(values)


def echo(i: int) -> int:
    """W6 independent step: return its index (no work, so only scheduling is measured)."""
    return i


def make_array() -> np.ndarray:
    """W4 producer: a float64 array of `ARRAY_BYTES` (values 0..n-1, sum exact)."""
    import numpy as np

    return np.arange(ARRAY_LENGTH, dtype=np.float64)


def array_sum(a: np.ndarray) -> float:
    """W4 consumer."""
    return float(a.sum())


def chain_incs(phase: str) -> list[int]:
    """Per-step parameters of the W3 chain (index 0 unused) for a phase."""
    incs = [0] + [1] * CHAIN_LENGTH
    if phase == "change":
        incs[CHANGED_STEP] = CHANGED_INC
    return incs


EXPECTED_CHAIN = CHAIN_LENGTH
EXPECTED_FANOUT = sum(range(FANOUT_WIDTH))
EXPECTED_WIDE = sum(range(WIDE_WIDTH))
EXPECTED_ARRAY_SUM = float(ARRAY_LENGTH * (ARRAY_LENGTH - 1) // 2)
