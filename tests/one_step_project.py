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


def check_after_a_local_run(folder: Path, checks: str) -> None:
    """In a new interpreter in ``folder`` (the project written there first), run the
    pipeline on ``local``, then ``checks``: code that sees ``sys`` and ``manager`` (the
    plugin manager); fail the test if any of it fails."""
    write_one_step_project(folder)
    prelude = (
        "import sys\n"
        "from tiny import pipeline\n"
        "from flowyml.plugins.manager import get_plugin_manager\n"
        "assert pipeline.run('local', echo_logs=False).success\n"
        "manager = get_plugin_manager()\n"
    )
    subprocess.run([sys.executable, "-c", prelude + checks], check=True, cwd=folder)
