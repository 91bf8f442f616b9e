"""Clean-up after a ``sagemaker`` run whose owning process died: its jobs are stopped.

The process that submits a run follows each group's training job and stops them when
the run is stopped. When that process is killed, its jobs run on, and are billed, with
nobody following them. The next reader of the run store marks the run ``crashed`` and
calls the ``flowyml_run_crashed`` hook (:mod:`flowyml_aws.plugin`), which stops every
active job of the run, with the settings of each ``sagemaker`` stack of the project (the
hook is not told the run's stack). Whoever reads the run store waits for this, so calls
are few and short.
"""

from __future__ import annotations

from pydantic import ValidationError

from flowyml.backend import BackendError, ConfigError
from flowyml_aws.clients import AwsClients
from flowyml_aws.config import SageMakerConfig
from flowyml_aws.run_queries import JobQueries

__all__ = ["stack_configs", "stop_crashed_run_jobs"]


def stack_configs() -> list[SageMakerConfig]:
    """The settings of each ``sagemaker`` stack of the project (invalid ones left out),
    with short timeouts and few retries: clean-up must not hold a reader up."""
    from flowyml.backend import load_config

    try:
        stacks = load_config().stacks.values()
    except ConfigError:
        return []  # the run store was readable without this file; no stack, no job
    configs: dict[tuple[str, str | None], SageMakerConfig] = {}
    for stack in stacks:
        if stack.backend != "sagemaker":
            continue
        try:
            config = SageMakerConfig.model_validate(stack.settings)
        except ValidationError:
            continue
        quick = {
            "retry_max_attempts": 2,
            "connect_timeout_seconds": 3.0,
            "read_timeout_seconds": 5.0,
        }
        key = (config.region, config.endpoints.get("sagemaker"))
        configs.setdefault(key, config.model_copy(update=quick))
    return list(configs.values())


def stop_crashed_run_jobs(run_id: str, configs: list[SageMakerConfig] | None = None) -> list[str]:
    """Stop every active training job of ``run_id``; the names of those stopped.

    Raises:
        BackendError: SageMaker refused (access denied...) and nothing was stopped with
            any other settings.
    """
    stopped: list[str] = []
    refused: BackendError | None = None
    for config in stack_configs() if configs is None else configs:
        try:
            stopped += JobQueries(AwsClients(config)).stop_run_jobs(run_id)
        except BackendError as exc:
            from botocore.exceptions import ConnectionError as Unreachable

            if isinstance(exc.__cause__, Unreachable):
                # Safe to skip: the run is recorded crashed either way, and its jobs end on
                # their own at their MaxRuntimeInSeconds; reading the run store offline
                # must neither fail nor warn because of that.
                continue
            refused = refused or exc
    if refused is not None and not stopped:
        raise refused
    return stopped
