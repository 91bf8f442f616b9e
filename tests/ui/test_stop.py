"""The Stop button: there and working with --allow-stop, absent and refused without."""

from __future__ import annotations

import re
from typing import Any

import httpx
from conftest import Cli, UiServer, expect


def _open_running_run(page: Any, ui: UiServer) -> str:
    page.goto(ui.url)
    row = page.locator("#runs tbody tr.run").first
    expect(row.locator(".status")).to_have_text("running", timeout=30_000)
    run_id = str(row.get_attribute("data-run-id"))
    row.locator(".run-id a").click()
    expect(page.locator('.node[data-step="slow_print"]')).to_have_class(
        "node status-running", timeout=30_000
    )
    return run_id


def test_with_allow_stop_the_button_stops_a_running_run(cli: Cli, page: Any) -> None:
    ui = cli.start_ui("--allow-stop")
    run = cli.start_pipeline("slow", "local", "lines=600", "pause=0.1")
    _open_running_run(page, ui)
    stop = page.locator("#stop")
    expect(stop).to_be_visible()
    stop.click()
    expect(page.locator("#stop-message")).to_contain_text("interrupted", timeout=10_000)
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=30_000)
    expect(stop).to_be_hidden()
    assert run.wait(30) == 130  # 128 + SIGINT: stopped as Ctrl-C stops it


def test_without_allow_stop_there_is_no_button_and_the_api_refuses(
    cli: Cli, ui: UiServer, page: Any
) -> None:
    run = cli.start_pipeline("slow", "local", "lines=100", "pause=0.1")
    run_id = _open_running_run(page, ui)
    expect(page.locator("#stop")).to_be_hidden()
    token = re.search(r'name="flowyml-token" content="([^"]+)"', httpx.get(ui.url).text)
    assert token is not None
    refused = httpx.post(
        ui.api(f"/api/runs/{run_id}/stop"), headers={"X-Flowyml-Token": token.group(1)}
    )
    assert refused.status_code == 403
    assert "--allow-stop" in refused.json()["error"]
    expect(page.locator("#run-status")).to_have_text("running")
    run.kill()
