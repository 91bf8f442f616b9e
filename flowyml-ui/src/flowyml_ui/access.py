"""Who may use the page: the token, the Host and Origin checks, the security headers.

Bound to loopback, the page is readable by whoever reaches the port on this machine;
bound elsewhere, every request needs the token (the printed URL carries it once, then a
cookie does). A write (``POST``) always needs the token in the ``X-Flowyml-Token`` header,
which only the page's own scripts can read, and an ``Origin``, when sent, that is the
page's own: another site can neither read the token nor send the header without a CORS
pre-flight this server never grants.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["TOKEN_COOKIE", "TOKEN_HEADER", "Access", "AccessMiddleware", "is_loopback"]

TOKEN_HEADER = "x-flowyml-token"
TOKEN_COOKIE = "flowyml_ui_token"

#: No inline script or style, nothing from another origin, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only reaches this machine."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The server's access rules.

    Attributes:
        token: the per-server secret writes (and, off loopback, every request) carry.
        loopback: bound to a loopback address: reads need no token, and only loopback
            ``Host`` names are answered (a DNS-rebinding page cannot reach the API).
        allow_stop: the Stop button and endpoint are enabled (``--allow-stop``).
    """

    token: str
    loopback: bool
    allow_stop: bool

    @classmethod
    def create(cls, host: str, token: str | None, allow_stop: bool) -> Access:
        """The rules for a server bound to ``host``; a token is generated when none is given."""
        return cls(token or secrets.token_urlsafe(24), is_loopback(host), allow_stop)

    def token_matches(self, given: str | None) -> bool:
        """Whether ``given`` is the token (compared in constant time)."""
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


class AccessMiddleware:
    """An ASGI middleware applying :class:`Access` to every HTTP request."""

    def __init__(self, app: Any, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            await _plain(send, status, message)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if scope["method"] == "GET" and self.access.token_matches(query.get("token")):
            # The printed URL carried the token: keep it in a cookie, out of the address bar.
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            await _redirect_with_cookie(send, scope["path"] + (f"?{rest}" if rest else ""), self)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: dict[str, Any], headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.access.loopback and hostname.lower() not in _LOOPBACK_NAMES:
            return 403, f"refused: this server answers only loopback names, not {host!r}"
        cookies = _cookies(headers.get("cookie", ""))
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = headers.get(TOKEN_HEADER) or cookies.get(TOKEN_COOKIE) or query.get("token")
        if not self.access.loopback and not self.access.token_matches(given):
            return 401, "refused: open the URL `flowyml ui` printed (it carries the token)"
        if scope["method"] in ("GET", "HEAD"):
            return None
        origin = headers.get("origin")
        if origin is not None and origin != f"{_scheme(scope)}://{host}":
            return 403, f"refused: a write from another origin ({origin})"
        if not self.access.token_matches(headers.get(TOKEN_HEADER)):
            return 403, f"refused: a write needs the page's token in the {TOKEN_HEADER} header"
        return None


def _scheme(scope: dict[str, Any]) -> str:
    return str(scope.get("scheme", "http"))


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in header.split(";") if "=" in part)
    return {name: value for name, _, value in pairs}


async def _plain(send: Any, status: int, message: str) -> None:
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *_SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send: Any, location: str, middleware: AccessMiddleware) -> None:
    cookie = f"{TOKEN_COOKIE}={middleware.access.token}; Path=/; HttpOnly; SameSite=Strict"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", cookie.encode()),
                (b"content-length", b"0"),
                *_SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
