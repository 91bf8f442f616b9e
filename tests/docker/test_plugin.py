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


def test_a_local_run_does_not_import_the_docker_backend(tmp_path):
    # Every command asks the plugins for their backends; the docker orchestrator's module
    # (its settings model, image builder and wheel helpers) loads only when it is used.
    from one_step_project import check_after_a_local_run

    check_after_a_local_run(
        tmp_path,
        "assert 'docker' in manager.backend_names()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('flowyml_docker.'))\n"
        "assert loaded == ['flowyml_docker.plugin'], loaded\n",
    )
