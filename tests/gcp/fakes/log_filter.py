"""Cloud Logging filters over :class:`LogRecord`, and RFC 3339 timestamps in nanoseconds.

Fields understood (anything else is a :class:`FilterError`, i.e. INVALID_ARGUMENT):

- ``resource.type``, ``resource.labels.KEY``, ``labels.KEY``, ``logName``/``log_name``,
  ``textPayload``/``text_payload``: string comparisons; ``:`` means "contains".
- ``insert_id``/``insertId``: string comparison (the fake's ids sort in append order).
- ``timestamp``: RFC 3339 with up to nine fractional digits, compared to the nanosecond.
- ``severity``: by level (``severity>=ERROR``).
"""

from __future__ import annotations

import calendar
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .filter_syntax import FilterError, Term, parse_filter
from .log_store import LogRecord

__all__ = ["SEVERITY_LEVELS", "compile_log_filter", "ns_to_rfc3339", "rfc3339_to_ns"]

SEVERITY_LEVELS = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}

_RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)$"
)
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def rfc3339_to_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp, exactly.

    Raises:
        FilterError: If ``text`` is not RFC 3339.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise FilterError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = match.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int(fraction)


def ns_to_rfc3339(timestamp_ns: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` of nanoseconds since the epoch."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def _label_reader(attribute: str, key: str) -> Callable[[LogRecord], str | None]:
    return lambda record: getattr(record, attribute).get(key)


def _string_test(
    term: Term, read: Callable[[LogRecord], str | None]
) -> Callable[[LogRecord], bool]:
    if term.op == ":":
        return lambda record: term.value in (read(record) or "")
    compare = _ORDERING[term.op]
    if term.op == "!=":
        return lambda record: compare(read(record), term.value)
    return lambda record: (value := read(record)) is not None and compare(value, term.value)


def _compile_term(term: Term) -> Callable[[LogRecord], bool]:
    field = term.field
    if field == "timestamp":
        if term.op == ":":
            raise FilterError("timestamp needs one of = != > >= < <=")
        bound, compare = rfc3339_to_ns(term.value), _ORDERING[term.op]
        return lambda record: compare(record.timestamp_ns, bound)
    if field == "severity":
        level = SEVERITY_LEVELS.get(term.value.upper())
        if level is None or term.op == ":":
            raise FilterError(f"cannot compare severity {term.op} {term.value!r}")
        compare = _ORDERING[term.op]
        return lambda record: compare(SEVERITY_LEVELS.get(record.severity, 0), level)
    readers: dict[str, Callable[[LogRecord], str | None]] = {
        "resource.type": lambda record: record.resource_type,
        "logName": lambda record: record.log_name,
        "log_name": lambda record: record.log_name,
        "insert_id": lambda record: record.insert_id,
        "insertId": lambda record: record.insert_id,
        "textPayload": lambda record: record.text,
        "text_payload": lambda record: record.text,
    }
    if field in readers:
        return _string_test(term, readers[field])
    for prefix, attribute in (("resource.labels.", "resource_labels"), ("labels.", "labels")):
        if field.startswith(prefix):
            return _string_test(term, _label_reader(attribute, field[len(prefix) :]))
    raise FilterError(f"field {field!r} is not supported by the fake Cloud Logging")


def compile_log_filter(text: str) -> Callable[[LogRecord], bool]:
    """A predicate telling whether a record matches the filter ``text`` (all terms AND-ed).

    Raises:
        FilterError: If the filter is malformed or uses an unsupported field.
    """
    tests = [_compile_term(term) for term in parse_filter(text)]
    return lambda record: all(test(record) for test in tests)
