"""A load of known size, with nothing but the standard library (a child process of a test
step imports it without paying for flowyml)."""

from __future__ import annotations

import time

MEGABYTE = 1024 * 1024
ALLOCATED = 300 * MEGABYTE
CPU_SECONDS = 1.0


def hold_and_burn(size: int, cpu_seconds: float) -> int:
    """Make ``size`` bytes resident (every page touched), and use ``cpu_seconds`` of this
    thread's CPU time, counted from the start."""
    start = time.thread_time()
    block = bytearray(size)
    for offset in range(0, size, 4096):
        block[offset] = 1
    spins = 0
    while time.thread_time() - start < cpu_seconds:
        spins += 1
    return len(block)
