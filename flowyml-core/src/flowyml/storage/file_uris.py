"""``file://`` URIs and URI schemes, read and written without importing urllib or pathlib.

A step runner starts once per step group in every container, subprocess and cloud job;
``pathlib`` and ``urllib.parse`` (with ``ipaddress``) cost it about 5 ms of a ~50 ms
start. The URIs our stores write are plain: an absolute path of letters, digits and
``/_.-~``. Those are handled here with string operations that give exactly what
``Path.as_uri()``, ``urlparse(uri).scheme`` and ``unquote(urlparse(uri).path)`` give;
anything else (a character to quote or unquote, a query, a fragment) goes to the
standard library, so the results never differ.
"""

from __future__ import annotations

import os

__all__ = ["file_uri", "path_of_file_uri", "plain_path", "uri_extension", "uri_scheme"]

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.-~")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
# Characters that make urllib read more into a URI than its path (or unquote it).
_NOT_PATH = frozenset("%?#;[]@:\\")


def _plain_tail(text: str) -> bool:
    """No character urllib would unquote, split at, or strip (controls and spaces)."""
    return not text or (_NOT_PATH.isdisjoint(text) and min(text) > " ")


def plain_path(path: str) -> bool:
    """Whether ``path`` is absolute, as pathlib would write it (no ``//``, ``.`` segment
    or trailing ``/``), and of characters a URI carries unquoted."""
    return path == "/" or (
        path.startswith("/")
        and _PLAIN.issuperset(path)
        and not path.endswith(("/", "/."))
        and "//" not in path
        and "/./" not in path
    )


def file_uri(path: str) -> str:
    """``Path(path).as_uri()`` for an absolute POSIX path.

    Raises:
        ValueError: ``path`` is relative (as ``as_uri`` does).
    """
    if plain_path(path):
        return "file://" + path
    from pathlib import Path

    return Path(path).as_uri()


def path_of_file_uri(uri: str) -> tuple[str, str]:
    """The scheme of ``uri`` and its path, unquoted: ``unquote(urlparse(uri).path)``."""
    if uri.startswith("file:///") and _plain_tail(uri[8:]):
        return "file", uri[7:]
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return parsed.scheme, unquote(parsed.path)


def uri_scheme(uri: str) -> str:
    """``urlparse(uri).scheme``: the lower-cased scheme, ``""`` for a plain path."""
    head, colon, _ = uri.partition(":")
    if not _plain_tail(head[:1]) or "\t" in head or "\n" in head or "\r" in head:
        from urllib.parse import urlparse

        return urlparse(uri).scheme
    plain = colon and head[:1].isascii() and head[:1].isalpha()
    return head.lower() if plain and _SCHEME_CHARS.issuperset(head) else ""


def uri_extension(uri: str) -> str:
    """The extension of the last segment of ``uri``'s path, as
    ``os.path.splitext(urlparse(uri).path)[1]``."""
    scheme = uri_scheme(uri)
    rest = uri[len(scheme) + 1 :] if scheme else uri
    if rest.startswith("//") and "/" in rest[2:] and _plain_tail(rest[2:]):
        return os.path.splitext(rest.rpartition("/")[2])[1]
    from urllib.parse import urlparse

    return os.path.splitext(urlparse(uri).path)[1]
