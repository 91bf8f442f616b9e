"""Live logs of a step running in a container: the same run-store path as every backend."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PIPELINES, Cli, expect
from service_checks import BASE_IMAGE, engine_with_base_image, unavailable_in

LINES = 6


@pytest.fixture
def docker_project(project: Path) -> Iterator[Path]:
    """The test project with a `docker` stack and the pipelines inside it (the image copies
    the project)."""
    engine = engine_with_base_image(unavailable_in("docker"))
    engine.close()
    try:
        import flowyml_docker  # noqa: F401
    except ImportError:
        unavailable_in("docker")("flowyml-docker is not installed")
    shutil.copy(PIPELINES, project / "ui_pipelines.py")
    (project / "flowyml.yaml").write_text(
        "stacks:\n"
        "  docker:\n"
        "    backend: docker\n"
        "    cache: false\n"
        "    settings:\n"
        f"      base_image: {BASE_IMAGE}\n"
        "      stop_grace_seconds: 2\n"
    )
    yield project


def test_a_containers_lines_stream_into_the_page_while_its_step_runs(
    docker_project: Path, cli: Cli, page: Any
) -> None:
    ui = cli.start_ui()
    run = cli.start(
        "run", "ui_pipelines.py:slow", "--backend", "docker", "--quiet",
        "-p", "pause=0.8", "-p", f"lines={LINES}",
    )  # fmt: skip
    page.goto(ui.url)
    link = page.locator("#runs tbody tr.run .run-id a").first
    expect(link).to_be_visible(timeout=60_000)
    link.click()
    node = page.locator('.node[data-step="slow_print"]')
    expect(node).to_have_class("node status-running", timeout=180_000)
    node.click()
    logs = page.locator("#logs")
    expect(logs).to_contain_text("line 2 of 6", timeout=60_000)
    expect(page.locator("#step-status")).to_have_text("running")
    assert "line 6 of 6" not in logs.inner_text()
    expect(page.locator("#step-status")).to_have_text("success", timeout=60_000)
    lines = [line for line in logs.locator(".line").all_inner_texts() if line.startswith("line")]
    assert lines == [f"line {i} of {LINES}" for i in range(1, LINES + 1)]
    expect(page.locator("#run-status")).to_have_text("success", timeout=60_000)
    assert run.wait(60) == 0
