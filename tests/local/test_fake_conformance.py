"""The conformance suite on the third-party plugin `flowyml-fake`.

Written as a plugin's own tests would be: only `flowyml.testing` is imported, and the
backend is selected by name in the stack the suite writes.
"""

from __future__ import annotations

from typing import Any

import pytest

from flowyml.testing import BackendConformance


class TestFakeConformance(BackendConformance):
    """`fake`: steps in the process that owns the run (so no isolation, no stopping)."""

    @pytest.fixture
    def backend_stack(self) -> dict[str, Any]:
        return {"backend": "fake", "settings": {"label": "conformance"}}
