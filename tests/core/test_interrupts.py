"""Signals that stop a run (flowyml/interrupts.py)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from flowyml.errors import RunInterrupted
from flowyml.execution.interrupts import interrupts_stop_runs, user_interrupted


def test_sigterm_inside_the_block_raises_run_interrupted_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RunInterrupted) as caught, interrupts_stop_runs():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between two bytecodes
            pass
    assert caught.value.signum == signal.SIGTERM and caught.value.exit_code == 143
    assert "interrupted by SIGTERM" in str(caught.value)
    assert signal.getsignal(signal.SIGTERM) is before
    assert not user_interrupted()


def test_a_signal_the_process_ignores_stays_ignored():
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interrupts_stop_runs():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)  # nothing happens
            assert not user_interrupted()
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_outside_the_main_thread_the_block_changes_nothing():
    seen = []

    def worker():
        with interrupts_stop_runs():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGINT)]
