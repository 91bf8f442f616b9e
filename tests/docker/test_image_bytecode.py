"""The image holds the project's bytecode (flowyml_docker/image_builder.py): step
containers run with PYTHONDONTWRITEBYTECODE, so without it each one would compile the
project's modules again before its first step could start."""

from __future__ import annotations

from typing import Any

from docker_harness import pipeline


def test_a_step_container_imports_the_project_from_its_bytecode(
    docker_client: Any, test_image: str
) -> None:
    from flowyml_docker.project_source import locate_project

    source = locate_project(pipeline("demo"), "/app")
    script = next(name for name in source.files if name.endswith(".py"))
    probe = (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('probe', '/app/{script}'); "
        "print(spec.loader.get_code('probe').co_filename, file=sys.stderr)"
    )
    # -v reports where each code object came from: the .pyc, or the source it compiled.
    output = docker_client.containers.run(
        test_image,
        ["python", "-v", "-c", probe],
        network_mode="none",
        user="12345:12345",  # not the owner of /app: it could not write a .pyc there
        remove=True,
        stdout=False,
        stderr=True,
    ).decode()
    assert f"# code object from '/app/__pycache__/{script[:-3]}.cpython-" in output, output
    assert f"# code object from /app/{script}\n" not in output, output
