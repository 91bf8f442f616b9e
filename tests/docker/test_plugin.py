"""The plugin arrives through the `flowyml` entry-point group, and imports no docker."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_plugin_and_listing_backends_does_not_import_docker():
    code = (
        "import sys, flowyml_docker\n"
        "from flowyml.plugins.manager import get_plugin_manager\n"
        "info = get_plugin_manager().get_backend('docker')\n"
        "assert info.kind == 'orchestrator' and info.distribution == 'flowyml-docker', info\n"
        "assert 'docker' not in sys.modules, 'docker was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_flowyml_backends_lists_docker_with_its_settings():
    out = subprocess.run(
        [sys.executable, "-m", "flowyml", "backends"], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("docker "))
    assert "flowyml-docker" in line and "max_parallel" in line and "base_image" in line
