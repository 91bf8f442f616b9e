"""The conjunction-of-comparisons subset of Google's list filter language.

Both Cloud Logging (``resource.type="ml_job" AND timestamp>"..."``) and Vertex AI
(``labels.run="r1" AND state="JOB_STATE_RUNNING"``) accept filters of this shape. The fakes
understand terms ``FIELD OP VALUE`` joined by ``AND`` (or by whitespace, which Cloud Logging
reads as AND); ``OP`` is one of ``= != > >= < <= :``; ``VALUE`` is a double-quoted string
(with ``\\"`` and ``\\\\`` escapes) or a bare word. ``OR``, ``NOT`` and parentheses are
refused with :class:`FilterError` rather than misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FilterError", "Term", "parse_filter"]

_TERM = re.compile(
    r"""\s*(?P<field>[A-Za-z_][\w.\-]*)\s*(?P<op>>=|<=|!=|=|>|<|:)\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|[^\s"()]+)"""
)
_KEYWORD = re.compile(r"\s*(AND|OR|NOT)\b")
_ESCAPE = re.compile(r"\\(.)")


class FilterError(ValueError):
    """A filter the fakes cannot read; the message says which part and why."""


@dataclass(frozen=True)
class Term:
    """One comparison: ``field op value`` (value unquoted)."""

    field: str
    op: str
    value: str


def parse_filter(text: str) -> list[Term]:
    """Parse ``text`` into its AND-ed terms; an empty filter gives no terms.

    Raises:
        FilterError: On ``OR``/``NOT``/parentheses or anything that is not a term.
    """
    terms: list[Term] = []
    position = 0
    expect_term = True
    while text[position:].strip():
        keyword = _KEYWORD.match(text, position)
        if keyword:
            if keyword.group(1) != "AND":
                raise FilterError(f"{keyword.group(1)} is not supported by the fake: {text!r}")
            if expect_term:
                raise FilterError(f"AND without a term before it at {position}: {text!r}")
            position, expect_term = keyword.end(), True
            continue
        match = _TERM.match(text, position)
        if match is None:
            raise FilterError(f"cannot read a term at character {position} of {text!r}")
        value = match.group("value")
        if value.startswith('"'):
            value = _ESCAPE.sub(r"\1", value[1:-1])
        terms.append(Term(match.group("field"), match.group("op"), value))
        position, expect_term = match.end(), False
    if terms and expect_term:
        raise FilterError(f"filter ends with AND: {text!r}")
    return terms
