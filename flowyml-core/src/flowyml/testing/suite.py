"""The whole conformance suite in one class."""

from __future__ import annotations

from flowyml.testing.contract import ContractTests
from flowyml.testing.examples import ExampleTests
from flowyml.testing.failures import FailureTests
from flowyml.testing.logs import LogTests
from flowyml.testing.reuse import CacheTests, ResumeTests
from flowyml.testing.step_policies import RetryTests, TimeoutTests
from flowyml.testing.stopping import StopTests

__all__ = ["BackendConformance"]


# pytest collects inherited tests starting from the last base class: they are listed in
# reverse, so a run starts with the contract and ends with the cache.
class BackendConformance(
    CacheTests,
    ResumeTests,
    LogTests,
    StopTests,
    TimeoutTests,
    RetryTests,
    FailureTests,
    ExampleTests,
    ContractTests,
):
    """Every conformance test: subclass it as ``Test...``, override ``backend_stack``,
    and set the capability flags of :class:`~flowyml.testing.harness.ConformanceBase`
    that hold for the backend.

    Example:
        >>> class TestMineConformance(BackendConformance):
        ...     isolates_steps = True
        ...     stops_running_steps = True
        ...
        ...     @pytest.fixture
        ...     def backend_stack(self):
        ...         return {"backend": "mine", "settings": {"endpoint": "http://127.0.0.1:8080"}}
    """
