"""A project folder holding a one-step pipeline, and code run against it in a fresh
interpreter (what a user's `flowyml run` or script starts from)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def write_one_step_project(folder: Path, module: str = "tiny", pipeline: str = "tiny") -> None:
    """``flowyml.yaml`` and ``<module>.py`` with ``pipeline``: one step, ``one``, output ``x``."""
    (folder / "flowyml.yaml").write_text("")
    (folder / f"{module}.py").write_text(
        "from flowyml import Pipeline, step\n\n"
        "@step(outputs=['x'])\n"
        "def one():\n"
        "    return 1\n\n"
        f"pipeline = Pipeline({pipeline!r}, steps=[one])\n"
    )


def run_fresh(folder: Path, code: str) -> None:
    """Run ``code`` in a new interpreter in ``folder``; fail the test if it fails."""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=folder)
