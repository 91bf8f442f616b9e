"""The example pipelines, loaded as a user's `flowyml run examples/...` would load them."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def example():
    from flowyml.definition.references import load_reference

    def load(name: str):
        return load_reference(f"{EXAMPLES / name}:pipeline")

    return load
