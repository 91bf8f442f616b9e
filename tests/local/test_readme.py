"""Every Python snippet of the README runs as written (on each backend it mentions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)


def test_the_readme_has_python_snippets():
    assert len(_python_blocks()) >= 4


@pytest.mark.parametrize("backend", ["local", "subprocess"])
def test_the_pipeline_snippet_runs_as_a_script_on_each_backend_it_names(project, backend):
    snippet = next(block for block in _python_blocks() if "pipeline.run()" in block)
    assert '"subprocess"' in snippet  # the backends it mentions
    if backend != "local":
        snippet = snippet.replace("pipeline.run()", f'pipeline.run("{backend}")')
    (project / "demo.py").write_text(snippet)
    done = subprocess.run(
        [sys.executable, "demo.py"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-3:] == ["True success", "49.5", "0"]


def test_the_plugin_snippets_are_valid_code_against_the_public_api(project):
    for block in _python_blocks():
        if "pipeline.run()" in block:
            continue
        namespace: dict[str, object] = {"__name__": "readme_snippet"}
        exec(compile(block, str(README), "exec"), namespace)  # imports and definitions only
