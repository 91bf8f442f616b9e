"""Label and field selectors of list and watch requests.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``,
``a notin (x,y)``, joined by commas (all must hold). Field selectors: ``metadata.name``,
``status.phase``, ``involvedObject.name`` or any other dotted path, with ``=``, ``==`` and
``!=``: what ``kubectl delete --wait``, ``kubectl describe`` and listings by phase use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ApiError

__all__ = ["field_selector", "label_selector", "match_labels_selector"]

Predicate = Callable[[Mapping[str, Any]], bool]
_SET_TERM = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQUALITY_TERM = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*(?:(==|=|!=)\s*([\w./-]*))?\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split at commas outside parentheses (``a in (x,y),b=c`` has two terms)."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term for term in terms if term.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    set_match = _SET_TERM.match(term)
    if set_match:
        key, operator, raw = set_match.groups()
        values = {value.strip() for value in raw.split(",") if value.strip()}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    match = _EQUALITY_TERM.match(term)
    if match is None or (match.group(1) and match.group(3)):
        raise ApiError.bad_request(f"unable to parse requirement: {term!r}")
    negated, key, operator, value = match.groups()
    if operator is None:
        return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)
    if operator == "!=":
        return lambda labels: labels.get(key) != value
    return lambda labels: labels.get(key) == value


def label_selector(selector: str | None) -> Predicate:
    """A predicate on objects for a ``labelSelector`` query parameter (None: everything).

    Raises:
        ApiError: 400 BadRequest for a selector that does not parse.
    """
    terms = [_label_term(term) for term in _split_terms(selector or "")]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


def match_labels_selector(match_labels: Mapping[str, str]) -> str:
    """The string form of a ``matchLabels`` selector, for listing a Job's pods."""
    return ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))


def _field_value(obj: Mapping[str, Any], path: str) -> Any:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def field_selector(selector: str | None) -> Predicate:
    """A predicate for a ``fieldSelector`` query parameter (None: everything).

    Raises:
        ApiError: 400 BadRequest for a term that does not parse.
    """
    terms: list[Predicate] = []
    for term in _split_terms(selector or ""):
        match = re.match(r"^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if match is None:
            raise ApiError.bad_request(f'invalid field selector: "{term}"')
        path, operator, value = match.groups()
        terms.append(_field_term(path, value, negated=operator == "!="))
    return lambda obj: all(term(obj) for term in terms)


def _field_term(path: str, value: str, negated: bool) -> Predicate:
    def matches(obj: Mapping[str, Any]) -> bool:
        return (str(_field_value(obj, path) or "") == value) != negated

    return matches
