"""The conformance suite: abstract pytest classes every backend's tests subclass.

A backend passes when a subclass of :class:`BackendConformance` (or of the parts it
combines) passes against it::

    import pytest
    from flowyml.testing import BackendConformance

    class TestMineConformance(BackendConformance):
        isolates_steps = True          # capability flags: see ConformanceBase
        stops_running_steps = True

        @pytest.fixture
        def backend_stack(self):
            return {"backend": "mine", "settings": {"endpoint": "http://127.0.0.1:8080"}}

The parts: :class:`ContractTests` (registration, name, settings model, ABC, signatures),
:class:`ExampleTests` (outputs identical to ``local``), :class:`FailureTests` (a failing
step in each way, faults included), :class:`RetryTests`, :class:`TimeoutTests`,
:class:`StopTests` (Ctrl-C and ``stop_run``), :class:`LogTests`, :class:`ResumeTests`
and :class:`CacheTests`. The pipelines they run are in :mod:`flowyml.testing.pipelines`,
importable wherever flowyml is installed, so also inside a backend's containers.

Names are imported lazily: importing :mod:`flowyml.testing.pipelines` in a step's
environment does not import pytest. The first name taken from this package registers the
suite's modules for pytest's assertion rewriting, so a failing check shows its values.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BackendConformance": "flowyml.testing.suite",
    "CacheTests": "flowyml.testing.reuse",
    "ConformanceBase": "flowyml.testing.harness",
    "ConformanceProject": "flowyml.testing.harness",
    "ContractTests": "flowyml.testing.contract",
    "ExampleTests": "flowyml.testing.examples",
    "FailureTests": "flowyml.testing.failures",
    "Leftovers": "flowyml.testing.harness",
    "LogTests": "flowyml.testing.logs",
    "ResumeTests": "flowyml.testing.reuse",
    "RetryTests": "flowyml.testing.step_policies",
    "StopTests": "flowyml.testing.stopping",
    "TimeoutTests": "flowyml.testing.step_policies",
    "wait_for": "flowyml.testing.harness",
}

__all__ = sorted(_EXPORTS)

_rewrite_registered = False

if TYPE_CHECKING:
    from flowyml.testing.contract import ContractTests
    from flowyml.testing.examples import ExampleTests
    from flowyml.testing.failures import FailureTests
    from flowyml.testing.harness import ConformanceBase, ConformanceProject, Leftovers, wait_for
    from flowyml.testing.logs import LogTests
    from flowyml.testing.reuse import CacheTests, ResumeTests
    from flowyml.testing.step_policies import RetryTests, TimeoutTests
    from flowyml.testing.stopping import StopTests
    from flowyml.testing.suite import BackendConformance


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml.testing' has no attribute {name!r}")
    _register_assert_rewrite()
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _register_assert_rewrite() -> None:
    """Have pytest rewrite the asserts of the suite's modules (before they are imported)."""
    global _rewrite_registered
    if not _rewrite_registered:
        import pytest

        pytest.register_assert_rewrite(*sorted(set(_EXPORTS.values())))
        _rewrite_registered = True


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
