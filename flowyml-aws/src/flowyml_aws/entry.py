"""The training job's entry point: rebuild the environment, then become the step runner.

``python -m flowyml_aws.entry step-runner ARGS`` joins the variables the backend split
to fit SageMaker's limits (:mod:`flowyml_aws.job_environment`), reads the arguments from
``FLOWYML_AWS_ARGV`` when they did not fit the request, fetches the secrets named in
``FLOWYML_AWS_SECRETS`` (variable -> Secrets Manager ARN) with the job's role, and execs
``flowyml`` with the arguments: the step runner is the core's, unchanged, and its exit
code is the job's.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from flowyml_aws.job_environment import (
    ARGV_VARIABLE,
    SECRETS_VARIABLE,
    part_names,
    unpack_environment,
)

__all__ = ["fetch_secrets", "main", "prepare"]


def fetch_secrets(names_to_arns: Mapping[str, str]) -> dict[str, str]:
    """Each variable's secret value, read from Secrets Manager with the job's credentials.

    Raises:
        SystemExit: a secret cannot be read (the message names it, never its value).
    """
    if not names_to_arns:
        return {}
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("secretsmanager")
    values: dict[str, str] = {}
    for name, arn in names_to_arns.items():
        try:
            answer = client.get_secret_value(SecretId=arn)
        except (ClientError, BotoCoreError) as exc:
            raise SystemExit(
                f"flowyml-aws: cannot read secret {arn} for ${name}: {exc}; check that the "
                "job's role may secretsmanager:GetSecretValue on it"
            ) from None
        values[name] = str(answer.get("SecretString") or answer["SecretBinary"].decode())
    return values


def prepare(environ: dict[str, str], argv: list[str]) -> list[str]:
    """Rebuild ``environ`` in place; return the arguments of ``flowyml``."""
    joined = unpack_environment(environ)
    for name in part_names(environ):
        del environ[name]
    environ.update(joined)
    if not argv and ARGV_VARIABLE in environ:
        argv = list(json.loads(environ.pop(ARGV_VARIABLE)))
    secrets = json.loads(environ.pop(SECRETS_VARIABLE, "{}"))
    environ.update(fetch_secrets(secrets))
    return argv


def main() -> None:
    """Rebuild the environment and exec ``flowyml ARGS``."""
    environ = dict(os.environ)
    argv = prepare(environ, sys.argv[1:])
    sys.stdout.flush()
    os.execvpe("flowyml", ["flowyml", *argv], environ)


if __name__ == "__main__":
    main()
