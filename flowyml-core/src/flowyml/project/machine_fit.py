"""Which machine a step gets on a priced backend now and with other resources, and the
difference in price.

Each backend whose class offers ``machine_catalog(project)`` (``vertex_ai``,
``sagemaker``) is asked through the plugin manager; the core never imports a backend.
A step's machine on such a backend is the ``machine_type`` it names, else the smallest
machine that fits its CPU, memory and GPUs, else the backend's default machine (the
``machine_type`` or ``instance_type`` of its settings) — as the backends choose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowyml.errors import FlowyMLError
from flowyml.plugins.manager import get_plugin_manager
from flowyml.project.config import ProjectConfig
from flowyml.records.catalog import MachineCatalog, MachineType
from flowyml.records.resources import ResourceConfig

__all__ = ["MachineFit", "PricedBackend", "fit_machines", "priced_backends"]

_DEFAULT_MACHINE_SETTINGS = ("machine_type", "instance_type")


@dataclass(frozen=True)
class PricedBackend:
    """A backend with a machine catalog.

    Attributes:
        name: the backend's name.
        catalog: its machines and prices.
        default_machine: the machine of a step that asks for nothing, when known.
    """

    name: str
    catalog: MachineCatalog
    default_machine: str | None = None


@dataclass(frozen=True)
class MachineFit:
    """A step's machine on one backend, now and with the suggested resources.

    Attributes:
        backend: the backend's name.
        current: the machine it gets now (``None``: unknown or not in the catalog).
        current_reason: how ``current`` was found.
        suggested: the smallest machine that fits the suggestion (``None``: none fits).
        wall_seconds: the step's median wall time, for the saving per run.
        currency: the currency of the prices.
    """

    backend: str
    current: MachineType | None
    current_reason: str
    suggested: MachineType | None
    wall_seconds: float | None
    currency: str

    @property
    def hourly_saving(self) -> float | None:
        """The current machine's hourly price minus the suggested one's (negative: more
        expensive), or ``None`` when a price is unknown."""
        now = None if self.current is None else self.current.hourly_price
        then = None if self.suggested is None else self.suggested.hourly_price
        return None if now is None or then is None else now - then

    @property
    def saving_per_run(self) -> float | None:
        """:attr:`hourly_saving` over the step's median wall time."""
        hourly = self.hourly_saving
        if hourly is None or self.wall_seconds is None:
            return None
        return hourly * self.wall_seconds / 3600

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""

        def machine(m: MachineType | None) -> dict[str, Any] | None:
            if m is None:
                return None
            return {"name": m.name, "vcpus": m.vcpus, "memory_bytes": m.memory_bytes,
                    "gpus": m.gpus, "hourly_price": m.hourly_price}  # fmt: skip

        return {
            "backend": self.backend,
            "current": machine(self.current),
            "current_reason": self.current_reason,
            "suggested": machine(self.suggested),
            "currency": self.currency,
            "hourly_saving": self.hourly_saving,
            "saving_per_run": self.saving_per_run,
        }


def fit_machines(
    backend: PricedBackend,
    current: ResourceConfig,
    suggested: ResourceConfig | None,
    wall_seconds: float | None,
) -> MachineFit:
    """The machines a step gets on ``backend`` with its current and suggested resources."""
    catalog = backend.catalog
    reason = ""
    machine: MachineType | None = None
    if current.machine_type:
        machine = _named(catalog, current.machine_type)
        reason = "its machine_type" if machine else f"{current.machine_type}: not in the catalog"
    elif current.cpu is not None or current.memory is not None or current.gpu:
        machine = _fitting(catalog, current)
        reason = "fits its resources" if machine else "nothing in the catalog fits them"
    elif backend.default_machine:
        machine = _named(catalog, backend.default_machine)
        reason = "the backend's default machine"
    else:
        reason = "the backend's default machine is unknown"
    return MachineFit(
        backend=backend.name,
        current=machine,
        current_reason=reason,
        suggested=None if suggested is None else _fitting(catalog, suggested),
        wall_seconds=wall_seconds,
        currency=catalog.currency,
    )


def _fitting(catalog: MachineCatalog, resources: ResourceConfig) -> MachineType | None:
    return catalog.smallest_fitting(
        cpu=resources.cpu,
        memory_bytes=resources.memory_bytes,
        gpus=resources.gpu,
        gpu_type=resources.gpu_type,
    )


def _named(catalog: MachineCatalog, name: str) -> MachineType | None:
    # SageMaker names its instances "ml.m5.large"; a step may write "m5.large".
    return catalog.get(name) or catalog.get(f"ml.{name}")


def priced_backends(config: ProjectConfig, root: Path, stack: str | None) -> list[PricedBackend]:
    """Every installed backend with a machine catalog, with its default machine.

    The default machine comes from the settings of ``stack`` when it uses that backend,
    else of the first stack of the configuration that does, else the backend's own
    default.

    Raises:
        ConfigError: a price file is not a valid catalog.
    """
    manager = get_plugin_manager()
    chosen_name, chosen = config.resolve(stack)
    found: list[PricedBackend] = []
    for name in sorted(manager.backends()):
        cls = manager.get_backend(name).cls
        loader = getattr(cls, "machine_catalog", None)
        if loader is None:
            continue
        catalog = loader(root)
        if catalog is None:
            continue
        stacks = [chosen] if chosen.backend == name else []
        stacks += [s for n, s in config.stacks.items() if s.backend == name and n != chosen_name]
        settings = stacks[0].settings if stacks else {}
        found.append(PricedBackend(name, catalog, _default_machine(cls, settings)))
    return found


def _default_machine(cls: Any, settings: dict[str, Any]) -> str | None:
    model = getattr(cls, "config_model", None)
    try:
        values = model.model_validate(settings) if model is not None else None
    except (ValidationError, FlowyMLError):
        values = None  # invalid settings: `flowyml run` names the problem; here: unknown
    for key in _DEFAULT_MACHINE_SETTINGS:
        value = settings.get(key, getattr(values, key, None))
        if isinstance(value, str):
            return value
    return None
