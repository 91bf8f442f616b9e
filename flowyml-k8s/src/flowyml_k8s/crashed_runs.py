"""Clean-up after a ``kubernetes`` run whose owning process died: its objects are deleted.

The submitting process follows each group's Job and deletes it when the run is stopped.
When that process is killed, its Jobs run on with nobody following them. The next reader
of the run store marks such a run ``crashed`` and calls the ``flowyml_run_crashed`` hook
(see :mod:`flowyml_k8s.plugin`), which deletes every Job (foreground), pod and Secret
labelled with the run's id, in the namespace of every ``kubernetes`` stack of the
project (the hook is not told the run's stack). Whoever reads the run store waits for
this, so requests time out quickly and an unreachable cluster is skipped.
"""

from __future__ import annotations

from pydantic import ValidationError

from flowyml.backend import BackendError, ConfigError
from flowyml_k8s.api import KubeApis, Unreachable
from flowyml_k8s.config import KubernetesConfig
from flowyml_k8s.run_objects import delete_run_objects

__all__ = ["delete_crashed_run_objects", "stack_configs"]

CLEANUP_REQUEST_TIMEOUT_SECONDS = 5.0


def stack_configs() -> list[KubernetesConfig]:
    """The settings of each ``kubernetes`` stack of the project, one per cluster context
    and namespace; stacks whose settings are invalid are left out."""
    from flowyml.backend import load_config

    try:
        stacks = load_config().stacks.values()
    except ConfigError:
        return []  # no configuration file: no stack, no object to look for
    configs: dict[tuple[object, ...], KubernetesConfig] = {}
    for stack in stacks:
        if stack.backend != "kubernetes":
            continue
        try:
            config = KubernetesConfig.model_validate(stack.settings)
        except ValidationError:
            continue
        key = (config.kubeconfig, config.context, config.in_cluster, config.namespace)
        configs.setdefault(key, config)
    return list(configs.values())


def delete_crashed_run_objects(
    run_id: str, configs: list[KubernetesConfig] | None = None
) -> list[str]:
    """Delete every Job, pod and Secret labelled with ``run_id``.

    Returns:
        What was deleted (``job/NAME``, ``secret/NAME``...).

    Raises:
        BackendError: a cluster refused a request and nothing was deleted anywhere. A
            cluster that does not answer is not an error: the run is recorded crashed
            either way, and its Jobs end at their steps' deadlines.
    """
    deleted: list[str] = []
    refused: BackendError | None = None
    for config in stack_configs() if configs is None else configs:
        apis = KubeApis(
            config.model_copy(update={"request_timeout_seconds": CLEANUP_REQUEST_TIMEOUT_SECONDS})
        )
        try:
            deleted += delete_run_objects(apis, run_id)
        except ConfigError:
            continue  # this stack's kubeconfig is not here: it ran nothing from here
        except Unreachable:
            continue  # see Raises
        except BackendError as exc:
            refused = refused or exc
        finally:
            apis.close()
    if refused is not None and not deleted:
        raise refused
    return deleted
