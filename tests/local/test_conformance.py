"""The conformance suite on the backends of flowyml-local."""

from __future__ import annotations

from typing import Any

import pytest

from flowyml.testing import BackendConformance


class TestLocalConformance(BackendConformance):
    """`local`: steps on threads of the process that owns the run."""

    @pytest.fixture
    def backend_stack(self) -> dict[str, Any]:
        return {"backend": "local", "settings": {"max_workers": 4}}


class TestSubprocessConformance(BackendConformance):
    """`subprocess`: each step or group in a process of its own."""

    isolates_steps = True
    stops_running_steps = True

    @pytest.fixture
    def backend_stack(self) -> dict[str, Any]:
        return {"backend": "subprocess", "settings": {"max_workers": 2}}
