"""The runs page's filters, and the command's plugin module staying light."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from conftest import Cli, UiServer, expect


def test_runs_filter_by_pipeline_and_by_status(cli: Cli, ui: UiServer, page: Any) -> None:
    assert cli.start_pipeline("slow", "local", "pause=0").wait(60) == 0
    assert cli.start_pipeline("slow", "local", "pause=0", "fail=true").wait(60) == 1
    assert cli.start_pipeline("hostile_pipeline", "local").wait(60) == 1
    page.goto(ui.url)
    rows = page.locator("#runs tbody tr.run")
    expect(rows).to_have_count(3, timeout=10_000)
    page.select_option("#status", "failed")
    expect(rows).to_have_count(2)
    page.select_option("#pipeline", "slow")
    expect(rows).to_have_count(1)
    expect(rows.locator(".status")).to_have_text("failed")
    assert "pipeline=slow" in page.url and "status=failed" in page.url
    page.reload()  # the filters live in the address, so a link keeps them
    expect(rows).to_have_count(1)
    page.select_option("#status", "")
    expect(rows).to_have_count(2)
    expect(rows.locator(".pipeline")).to_have_text(["slow", "slow"])


def test_the_plugin_module_imports_no_web_stack() -> None:
    probe = (
        "import sys, flowyml_ui.plugin;"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_ui_command_is_listed_by_flowyml_help(cli: Cli) -> None:
    result = cli.run("--help", timeout=60)
    assert result.returncode == 0
    assert "Serve a live web page of the project's runs" in result.stdout
