"""Machine shapes and prices of a backend, as a dated copy of its price page.

A catalog is data, not code: each cloud backend ships one as a JSON file with the page it
was copied from (``source``), the day (``as_of``) and the region, and a project can
replace it with its own file without a release (see :mod:`flowyml.project.prices`).
The plan of a run reads machine prices from it; ``flowyml rightsize`` picks the smallest
machine that fits measured usage with :meth:`MachineCatalog.smallest_fitting`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flowyml.errors import ConfigError

__all__ = ["MachineCatalog", "MachineType"]

_GIB = 1024**3


class MachineType(BaseModel):
    """One machine (or instance) type.

    Attributes:
        name: the name the backend's API takes, e.g. ``"n1-standard-4"``, ``"ml.m5.xlarge"``.
        vcpus: virtual CPUs.
        memory_bytes: memory in bytes (a file may write ``memory_gib`` instead).
        gpus: number of GPUs attached (0 for none).
        gpu_type: the GPU model, e.g. ``"NVIDIA_TESLA_T4"``; ``None`` without GPUs.
        hourly_price: the on-demand price of one hour, or ``None`` when unknown.
        currency: the currency of ``hourly_price``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    vcpus: float = Field(ge=0)
    memory_bytes: int = Field(ge=0)
    gpus: int = Field(default=0, ge=0)
    gpu_type: str | None = None
    hourly_price: float | None = Field(default=None, ge=0)
    currency: str = "USD"

    @model_validator(mode="before")
    @classmethod
    def _memory_in_gib(cls, data: Any) -> Any:
        if isinstance(data, dict) and "memory_gib" in data:
            data = dict(data)
            gib = data.pop("memory_gib")
            data.setdefault("memory_bytes", int(float(gib) * _GIB))
        return data

    @property
    def memory_gib(self) -> float:
        """Memory in GiB."""
        return self.memory_bytes / _GIB


class MachineCatalog(BaseModel):
    """The machine types of one backend, with where and when their figures were copied.

    Attributes:
        backend: the backend kind the catalog describes, e.g. ``"vertex_ai"``.
        source: the URL (or description) of the page the figures come from.
        as_of: the day they were copied (``YYYY-MM-DD``).
        region: the region the prices are for, e.g. ``"us-central1"``.
        currency: the default currency of the prices.
        notes: anything a reader of the file should know (what a price includes).
        accelerator_prices: the hourly price of one GPU attached to a machine whose own
            price leaves it out (Vertex AI's N1 machines), by GPU type.
        machines: the types, in the file's tie-breaking order.
        origin: the file the catalog was read from (set by the loader).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str
    source: str
    as_of: str
    region: str | None = None
    currency: str = "USD"
    notes: str | None = None
    accelerator_prices: dict[str, float] = Field(default_factory=dict)
    machines: list[MachineType] = Field(default_factory=list)
    origin: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _machines_inherit_currency(cls, data: Any) -> Any:
        if isinstance(data, dict) and "currency" in data:
            data = dict(data)
            data["machines"] = [
                {"currency": data["currency"], **m} if isinstance(m, dict) else m
                for m in data.get("machines", [])
            ]
        return data

    @classmethod
    def from_json(cls, text: str, origin: str | None = None) -> MachineCatalog:
        """Parse a catalog file.

        Args:
            text: the file's JSON text.
            origin: where it was read from, named in errors and kept in ``origin``.

        Raises:
            ConfigError: the text is not JSON or not a catalog.
        """
        where = origin or "machine catalog"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: the top level must be an object with 'machines'")
        try:
            return cls.model_validate({**data, "origin": origin})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'catalog'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"{where}: {problems}") from None

    def get(self, name: str) -> MachineType | None:
        """The machine type called ``name``, or ``None``."""
        return next((m for m in self.machines if m.name == name), None)

    def hourly_price(self, name: str) -> float | None:
        """The hourly price of ``name``, or ``None`` when unknown or not in the catalog."""
        machine = self.get(name)
        return None if machine is None else machine.hourly_price

    def hourly_cost(self, name: str, gpus: int = 0, gpu_type: str | None = None) -> float | None:
        """What one hour of ``name`` costs with ``gpus`` GPUs of ``gpu_type`` attached.

        GPUs the machine has built in are in its price; others are priced from
        ``accelerator_prices``. ``None`` when a figure is missing.
        """
        machine = self.get(name)
        if machine is None or machine.hourly_price is None:
            return None
        extra = max(gpus - machine.gpus, 0)
        if not extra:
            return machine.hourly_price
        per_gpu = self.accelerator_prices.get((gpu_type or "").upper())
        return None if per_gpu is None else machine.hourly_price + extra * per_gpu

    def smallest_fitting(
        self,
        cpu: float | None = None,
        memory_bytes: int | None = None,
        gpus: int = 0,
        gpu_type: str | None = None,
    ) -> MachineType | None:
        """The smallest machine with at least these CPUs, memory and GPUs.

        Smallest means fewest GPUs, then fewest vCPUs, then least memory; on a tie the one
        listed first.

        Args:
            cpu: CPUs needed (``None``: any).
            memory_bytes: memory needed in bytes (``None``: any).
            gpus: GPUs needed.
            gpu_type: the GPU model needed when ``gpus`` > 0 (``None``: any model).

        Returns:
            The machine, or ``None`` when nothing in the catalog is that large.
        """
        wanted_type = gpu_type.upper() if gpus and gpu_type else None
        fitting = [
            (index, m)
            for index, m in enumerate(self.machines)
            if m.vcpus >= (cpu or 0)
            and m.memory_bytes >= (memory_bytes or 0)
            and m.gpus >= gpus
            and (wanted_type is None or (m.gpu_type or "").upper() == wanted_type)
        ]
        if not fitting:
            return None
        _, best = min(
            fitting,
            key=lambda it: (
                it[1].gpus,
                it[1].vcpus,
                it[1].memory_bytes,
                it[0],
            ),
        )
        return best
