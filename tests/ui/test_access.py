"""Who may read and write: loopback by default, a token off loopback and for writes, no
cross-origin write."""

from __future__ import annotations

import re

import httpx
from conftest import Cli, UiServer


def _token(ui: UiServer) -> str:
    page = httpx.get(ui.url).text
    found = re.search(r'name="flowyml-token" content="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_a_write_from_another_origin_is_refused_even_with_the_token(cli: Cli) -> None:
    ui = cli.start_ui("--allow-stop")
    stop = ui.api("/api/runs/nosuchrun/stop")
    headers = {"X-Flowyml-Token": _token(ui), "Origin": "http://evil.example"}
    refused = httpx.post(stop, headers=headers)
    assert refused.status_code == 403
    assert "another origin" in refused.text
    own_origin = ui.url.rstrip("/")
    answered = httpx.post(stop, headers={**headers, "Origin": own_origin})
    assert answered.status_code == 404  # past the checks: the run does not exist


def test_a_write_without_the_pages_token_is_refused(cli: Cli) -> None:
    ui = cli.start_ui("--allow-stop")
    stop = ui.api("/api/runs/nosuchrun/stop")
    assert httpx.post(stop).status_code == 403
    assert httpx.post(stop, headers={"X-Flowyml-Token": "guessed"}).status_code == 403
    # A cross-site form post carries neither the header nor a matching origin.
    form = httpx.post(stop, data={"x": "1"}, headers={"Origin": "null"})
    assert form.status_code == 403


def test_a_loopback_server_answers_only_loopback_host_names(ui: UiServer) -> None:
    port = ui.url.split(":")[2].strip("/")
    assert httpx.get(ui.url, headers={"Host": f"localhost:{port}"}).status_code == 200
    rebound = httpx.get(ui.api("/api/runs"), headers={"Host": f"attacker.example:{port}"})
    assert rebound.status_code == 403


def test_off_loopback_every_request_needs_the_printed_token(cli: Cli) -> None:
    ui = cli.start_ui("--host", "0.0.0.0")
    assert "token=" in ui.url
    assert any("not loopback" in line for line in ui.output)
    bare = ui.url.split("?")[0]
    assert httpx.get(bare).status_code == 401
    assert httpx.get(bare + "api/runs").status_code == 401
    with httpx.Client(follow_redirects=True) as client:
        first = client.get(ui.url)  # the printed URL: its token goes into a cookie
        assert first.status_code == 200
        assert first.history and first.history[0].status_code == 303
        assert "token=" not in str(first.url)
        assert client.get(bare + "api/runs").status_code == 200
