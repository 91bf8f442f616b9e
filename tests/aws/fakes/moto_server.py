"""moto in server mode on 127.0.0.1: S3, CloudWatch Logs, ECR (and moto's own SageMaker).

One in-process ``ThreadedMotoServer`` answers every service on one port, the way moto's
standalone server does; clients tell services apart by their request, not by the URL.
It is an implementation of these APIs that nobody in this project wrote, so tests that
pass against it say something about the real services too.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from .account import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

__all__ = ["MotoServer", "aws_environment", "boto3_client", "session"]

# botocore's service-specific endpoint variables (AWS_ENDPOINT_URL_<SERVICE ID>).
_ENDPOINT_VARIABLES = {
    "s3": "AWS_ENDPOINT_URL_S3",
    "logs": "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "ecr": "AWS_ENDPOINT_URL_ECR",
}


def aws_environment(endpoints: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables that point a default boto3 session at the fakes.

    Args:
        endpoints: botocore service name (``s3``, ``logs``, ``ecr``, ``sagemaker``) to URL.

    Returns:
        Dummy credentials, the region, no shared config or metadata server, and one
        ``AWS_ENDPOINT_URL_<SERVICE>`` per endpoint given.
    """
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    for service, url in (endpoints or {}).items():
        env[_ENDPOINT_VARIABLES.get(service, f"AWS_ENDPOINT_URL_{service.upper()}")] = url
    return env


class MotoServer:
    """A moto server on a free loopback port, with clients bound to it."""

    def __init__(self) -> None:
        self._server: Any = None
        self.endpoint = ""

    def start(self) -> str:
        """Start serving; return the endpoint URL (``http://127.0.0.1:PORT``)."""
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request moto serves to stderr; a test's output should show
        # its own failures, not hundreds of access lines. Errors still get through.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Forget every bucket, log group, repository and job moto holds."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)

    def client(self, service: str, **config: Any) -> Any:
        """A real boto3 client of ``service`` on this server.

        Args:
            service: botocore service name, e.g. ``s3``, ``logs``, ``ecr``, ``sagemaker``.
            config: ``botocore.config.Config`` arguments (e.g. ``retries=``).
        """
        return boto3_client(service, self.endpoint, **config)


def session() -> Any:
    """A ``boto3.Session`` with the dummy credentials and region (no endpoint of its own)."""
    import boto3

    return boto3.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    )


def boto3_client(service: str, endpoint: str, **config: Any) -> Any:
    """A real boto3 client of ``service`` at ``endpoint``, with the dummy keys and region.

    Args:
        config: ``botocore.config.Config`` arguments, e.g.
            ``retries={"mode": "standard", "max_attempts": 5}``.
    """
    from botocore.config import Config

    options = {"config": Config(**config)} if config else {}
    return session().client(service, endpoint_url=endpoint, **options)
