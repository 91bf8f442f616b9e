"""The collector is off for a run's bookkeeping, on for step code
(flowyml/execution/gc_pause.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from flowyml.execution.gc_pause import bookkeeping_without_gc, step_code


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_for_bookkeeping_on_for_step_code_and_restored_after():
    gc.enable()
    with bookkeeping_without_gc():
        assert not gc.isenabled()
        with step_code:
            assert gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off():
    gc.disable()
    with bookkeeping_without_gc(), step_code:
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_step_code_on_another_thread_keeps_the_collector_on():
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    def worker() -> None:
        with step_code:
            inside.set()
            leave.wait(10)

    with bookkeeping_without_gc():
        thread = threading.Thread(target=worker)
        thread.start()
        assert inside.wait(10)
        assert gc.isenabled()  # a step runs: its garbage is collected as usual
        leave.set()
        thread.join(10)
        assert not gc.isenabled()
        with bookkeeping_without_gc():  # a second run at once
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first one still runs
    assert gc.isenabled()


def test_a_step_started_before_the_run_keeps_it_on():
    gc.enable()
    with step_code, bookkeeping_without_gc():
        assert gc.isenabled()
    assert gc.isenabled()
