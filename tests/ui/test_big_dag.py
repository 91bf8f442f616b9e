"""A 1,000-step run page loads fast and stays usable."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from conftest import Cli, UiServer, expect


def test_a_thousand_step_run_draws_every_node_within_seconds(
    cli: Cli, ui: UiServer, page: Any, screenshots: Path
) -> None:
    result = cli.run("run", f"{cli.pipelines}:grid", "--backend", "local", "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    page.goto(ui.url)
    link = page.locator("#runs tbody tr.run .run-id a").first
    expect(link).to_be_visible(timeout=10_000)
    started = time.monotonic()
    link.click()
    expect(page.locator("svg.dag .node")).to_have_count(1000, timeout=5_000)
    expect(page.locator("svg.dag .node.status-success")).to_have_count(1000, timeout=5_000)
    loaded = time.monotonic() - started
    assert loaded < 5, f"the 1,000-step page took {loaded:.1f} s"
    print(f"1,000-step run page: {loaded:.2f} s; {page.locator('#dag-info').inner_text()}")
    # Two inputs for each step past the first column.
    expect(page.locator(".edge")).to_have_count(19 * 50 * 2)
    # Still responsive: a click on the last step opens its panel at once.
    last = page.locator('.node[data-step="c19r49"]')
    last.scroll_into_view_if_needed()
    last.click()
    expect(page.locator("#step-panel .step-name")).to_have_text("c19r49", timeout=1_000)
    page.screenshot(path=str(screenshots / "run-page-1000-steps.png"))
    # Drawn large enough to read, in a pane that scrolls; zooming resizes the drawing.
    dag = page.locator("#dag")
    assert dag.evaluate("d => d.scrollHeight > d.clientHeight && d.scrollWidth > d.clientWidth")
    width = float(page.locator("svg.dag").get_attribute("width"))
    page.locator("#zoom-out").click()
    assert float(page.locator("svg.dag").get_attribute("width")) < width
    page.locator("#zoom-fit").click()
    assert dag.evaluate("d => d.scrollWidth <= d.clientWidth")
