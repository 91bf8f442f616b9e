"""A run seen from the browser while it happens: the runs page, the run page, live logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, UiServer, expect

LINES = 6


@pytest.fixture(params=["local", "subprocess"])
def backend(request: pytest.FixtureRequest) -> str:
    """The in-process backend and the one running each step in a child process."""
    return str(request.param)


def _row(page: Any) -> Any:
    return page.locator("#runs tbody tr.run").first


def test_a_run_appears_and_goes_from_running_to_success_without_a_reload(
    cli: Cli, ui: UiServer, page: Any, backend: str, screenshots: Path
) -> None:
    page.goto(ui.url)
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#empty")).to_be_visible()
    run = cli.start_pipeline("slow", backend, "pause=0.4")
    row = _row(page)
    expect(row.locator(".status")).to_have_text("running", timeout=30_000)
    expect(row.locator(".pipeline")).to_have_text("slow")
    expect(row.locator(".backend")).to_have_text(backend)
    expect(row.locator(".status")).to_have_text("success", timeout=30_000)
    expect(row.locator(".done")).to_have_text("3/3")
    expect(row.locator(".failed")).to_have_text("0")
    assert run.wait(30) == 0
    page.screenshot(path=str(screenshots / f"runs-page-{backend}.png"))
    assert page.evaluate("window.__sameDocument") is True  # updated in place, never reloaded


def test_log_lines_stream_in_order_while_the_step_runs(
    cli: Cli, ui: UiServer, page: Any, backend: str, screenshots: Path
) -> None:
    cli.start_pipeline("slow", backend, "pause=0.6", f"lines={LINES}")
    page.goto(ui.url)
    link = _row(page).locator(".run-id a")
    expect(link).to_be_visible(timeout=30_000)
    link.click()
    node = page.locator('.node[data-step="slow_print"]')
    expect(node).to_have_class("node status-running", timeout=30_000)
    node.click()
    logs = page.locator("#logs")
    expect(logs).to_contain_text("line 2 of 6", timeout=20_000)
    # Seen while the step still runs: streamed, not read once the step ended.
    expect(page.locator("#step-status")).to_have_text("running")
    assert "line 6 of 6" not in logs.inner_text()
    page.screenshot(path=str(screenshots / f"run-page-running-{backend}.png"))
    expect(page.locator("#step-status")).to_have_text("success", timeout=30_000)
    expect(node).to_have_class("node status-success selected")
    lines = [line for line in logs.locator(".line").all_inner_texts() if line.startswith("line")]
    assert lines == [f"line {i} of {LINES}" for i in range(1, LINES + 1)]
    expect(page.locator("#run-status")).to_have_text("success", timeout=30_000)
    expect(page.locator("#live")).to_have_text("finished")


def test_a_failing_step_shows_its_traceback(cli: Cli, ui: UiServer, page: Any) -> None:
    assert cli.start_pipeline("slow", "local", "pause=0", "fail=true").wait(60) == 1
    page.goto(ui.url)
    expect(_row(page).locator(".failed")).to_have_text("1", timeout=10_000)
    _row(page).locator(".run-id a").click()
    node = page.locator('.node[data-step="report"]')
    expect(node).to_have_class("node status-failed")
    node.click()
    panel = page.locator("#step-panel")
    expect(panel.locator(".error-line")).to_contain_text("report refused total 10")
    traceback = panel.locator(".traceback")
    expect(traceback).to_contain_text("Traceback (most recent call last)")
    expect(traceback).to_contain_text("ValueError: report refused total 10")
    expect(page.locator("#run-error")).to_contain_text("report")


def test_the_dag_has_one_node_per_step_and_an_edge_per_artifact(
    cli: Cli, ui: UiServer, page: Any, screenshots: Path
) -> None:
    assert cli.start_pipeline("slow", "local", "pause=0.01").wait(60) == 0
    page.goto(ui.url)
    _row(page).locator(".run-id a").click()
    nodes = page.locator("svg.dag .node")
    expect(nodes).to_have_count(3)
    assert sorted(nodes.evaluate_all("ns => ns.map(n => n.dataset.step)")) == [
        "prepare",
        "report",
        "slow_print",
    ]
    edges = page.locator("svg.dag .edge")
    expect(edges).to_have_count(2)
    pairs = edges.evaluate_all("es => es.map(e => e.dataset.source + '>' + e.dataset.target)")
    assert sorted(pairs) == [
        "prepare>slow_print",
        "slow_print>report",
    ]
    expect(page.locator(".node.status-success")).to_have_count(3)
    page.locator('.node[data-step="slow_print"]').click()
    panel = page.locator("#step-panel")
    expect(panel.locator(".parameters")).to_contain_text("pause")
    panel.locator('li[data-artifact="total"] button').click()
    expect(panel.locator(".preview")).to_have_text("10")
    expect(page.locator("#logs")).to_contain_text("line 6 of 6")
    page.screenshot(path=str(screenshots / "run-page.png"))


def test_groups_are_outlined_and_an_array_previews_as_a_table(
    cli: Cli, ui: UiServer, page: Any, screenshots: Path
) -> None:
    run = cli.start_pipeline("showcase", "subprocess", "epochs=8", "pause=0.5")
    page.goto(ui.url)
    link = _row(page).locator(".run-id a")
    expect(link).to_be_visible(timeout=30_000)
    link.click()
    expect(page.locator("svg.dag .node")).to_have_count(5)
    expect(page.locator('svg.dag .group[data-group="prep"]')).to_have_count(1)
    fitting = page.locator('.node[data-step="fit_linear"]')
    expect(fitting).to_have_class("node status-running", timeout=30_000)
    fitting.click()
    expect(page.locator("#logs")).to_contain_text("epoch 3/8", timeout=20_000)
    page.set_viewport_size({"width": 1280, "height": 560})  # the README's picture
    page.screenshot(path=str(screenshots / "run-page-live.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert run.wait(60) == 0
    page.locator('.node[data-step="featurize"]').click()
    panel = page.locator("#step-panel")
    expect(panel.locator(".facts").first).to_contain_text("groupprep")  # dt, then dd
    panel.locator('li[data-artifact="features"] button').click()
    table = panel.locator(".preview table")
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(panel.locator(".preview")).to_contain_text("shape 8 \u00d7 3, float64")
    expect(page.locator("#logs")).to_contain_text("features: x, x squared, y")
    page.screenshot(path=str(screenshots / "run-page-grouped.png"))
    # All steps' output: the group's live lines gave way to its steps' stored ones.
    page.locator("#logs-all").click()
    expect(page.locator("#logs")).to_contain_text("[featurize] features: x, x squared, y")
    assert page.locator("#logs").inner_text().count("features: x, x squared, y") == 1
