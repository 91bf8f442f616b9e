"""A training job's environment within SageMaker's limits, and rebuilt inside the job.

``CreateTrainingJob`` takes at most 100 variables, each value at most 512 characters,
and container arguments of at most 256 characters. :func:`pack_environment` splits a
longer value into numbered parts (``NAME__FLOWYML_PART0``...) and lists what it split in
``FLOWYML_AWS_SPLIT``; arguments that do not fit go, as JSON, into ``FLOWYML_AWS_ARGV``
(split the same way). :func:`unpack_environment`, run by :mod:`flowyml_aws.entry` in the
job before the step runner, joins them back.

This module imports nothing from flowyml: the job's entry point stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = [
    "ARGV_VARIABLE",
    "MAX_ARGUMENT",
    "MAX_VALUE",
    "MAX_VARIABLES",
    "SECRETS_VARIABLE",
    "SPLIT_VARIABLE",
    "EnvironmentTooLarge",
    "pack_arguments",
    "pack_environment",
    "unpack_environment",
]

MAX_VALUE = 512
MAX_VARIABLES = 100
MAX_ARGUMENT = 256
MAX_ARGUMENTS = 100
SPLIT_VARIABLE = "FLOWYML_AWS_SPLIT"
ARGV_VARIABLE = "FLOWYML_AWS_ARGV"
SECRETS_VARIABLE = "FLOWYML_AWS_SECRETS"
_PART = "__FLOWYML_PART"


class EnvironmentTooLarge(ValueError):
    """Even split, the environment has more than SageMaker's 100 variables."""


def pack_arguments(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Container arguments within SageMaker's limits, and what goes to the environment.

    Returns:
        ``(arguments, environment)``: the arguments unchanged when each fits, else no
        arguments and ``FLOWYML_AWS_ARGV`` holding them as JSON.
    """
    if len(args) <= MAX_ARGUMENTS and all(len(a) <= MAX_ARGUMENT for a in args):
        return list(args), {}
    return [], {ARGV_VARIABLE: json.dumps(args)}


def pack_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with every value longer than 512 characters split into parts.

    Raises:
        EnvironmentTooLarge: the result has more than 100 variables; the message names
            the longest values.
    """
    packed: dict[str, str] = {}
    split: list[str] = []
    for name, value in env.items():
        if len(value) <= MAX_VALUE:
            packed[name] = value
            continue
        parts = [value[i : i + MAX_VALUE] for i in range(0, len(value), MAX_VALUE)]
        split.append(f"{name}:{len(parts)}")
        for index, part in enumerate(parts):
            packed[f"{name}{_PART}{index}"] = part
    if split:
        packed[SPLIT_VARIABLE] = ",".join(split)
    if len(packed) > MAX_VARIABLES:
        longest = sorted(env, key=lambda n: -len(env[n]))[:3]
        raise EnvironmentTooLarge(
            f"the job's environment needs {len(packed)} variables once values longer than "
            f"{MAX_VALUE} characters are split, and SageMaker takes {MAX_VARIABLES}; the "
            f"longest values are {', '.join(longest)}: shorten them or pass fewer variables"
        )
    return packed


def unpack_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables :func:`pack_environment` split, joined back (others are untouched).

    Returns:
        What to set: each split variable's whole value. The parts are left for the caller
        to remove (see :func:`part_names`).
    """
    joined: dict[str, str] = {}
    listing = environ.get(SPLIT_VARIABLE, "")
    for item in filter(None, listing.split(",")):
        name, _, count = item.rpartition(":")
        joined[name] = "".join(environ[f"{name}{_PART}{i}"] for i in range(int(count)))
    return joined


def part_names(environ: Mapping[str, str]) -> list[str]:
    """The names of the parts and of the listing, to remove once joined."""
    return [n for n in environ if _PART in n] + (
        [SPLIT_VARIABLE] if SPLIT_VARIABLE in environ else []
    )
