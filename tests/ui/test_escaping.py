"""Step output is untrusted text: markup printed or raised by a step never runs."""

from __future__ import annotations

from typing import Any

from conftest import Cli, UiServer, expect


def test_markup_a_step_prints_or_raises_is_shown_as_text_and_never_runs(
    cli: Cli, ui: UiServer, page: Any
) -> None:
    assert cli.start_pipeline("hostile_pipeline", "local").wait(60) == 1
    page.goto(ui.url)
    row = page.locator("#runs tbody tr.run").first
    expect(row.locator(".pipeline")).to_have_text("<b>hostile</b>", timeout=10_000)
    row.locator(".run-id a").click()
    expect(page.locator("#run-title")).to_contain_text("<b>hostile</b>")
    page.locator('.node[data-step="hostile"]').click()
    logs = page.locator("#logs")
    expect(logs).to_contain_text("<script>window.__pwned = 'script';</script>")
    expect(logs).to_contain_text('<img src="x" onerror="window.__pwned = \'img\'">')
    expect(page.locator("#step-panel .error-line")).to_contain_text('<img src=x onerror="')
    expect(page.locator("#step-panel .traceback")).to_contain_text("RuntimeError: <img src=x")
    page.locator("#logs-all").click()
    expect(logs).to_contain_text("[hostile] <script>")
    # Nothing the step wrote became an element, and nothing of it ran.
    assert page.locator("body script, img, [onerror]").count() == 0
    assert page.locator("#run-title *, #logs .line *, #step-panel .traceback *").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_pages_forbid_inline_scripts(ui: UiServer, page: Any) -> None:
    response = page.goto(ui.url)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    # An inline script added to the page anyway is blocked by the browser.
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__inline = 1'; document.body.appendChild(s); }"""
    )
    assert page.evaluate("typeof window.__inline") == "undefined"
