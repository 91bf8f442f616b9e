"""Kubernetes resource quantities (``500m``, ``2``, ``4Gi``, ``1e3``) as exact numbers.

The scheduler compares requests with the node's capacity and the pod runner turns limits
into Docker's ``nano_cpus`` and ``mem_limit``; both need the same parsing, and floats would
make ``0.1 + 0.2`` CPUs not fit on a ``300m`` node.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["QuantityError", "parse_quantity"]

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Decimal:
    """The value of a quantity in base units (cores, bytes, devices).

    Raises:
        QuantityError: If ``value`` does not follow the quantity grammar.
    """
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None or match.group(2) not in _SUFFIXES:
        raise QuantityError(f"quantities must match the regular expression {_QUANTITY.pattern}")
    number, suffix = match.groups()
    if suffix and ("e" in number.lower()):
        raise QuantityError(f"{text!r}: an exponent and a suffix cannot be combined")
    try:
        return Decimal(number) * _SUFFIXES[suffix]
    except InvalidOperation as error:
        raise QuantityError(f"{text!r} is not a number") from error
