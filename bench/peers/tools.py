"""Registry of the tools the peer benchmark compares (host side, standard library only).

Adding a tool = writing ``tool_<key>.py`` (see `harness.Tool`) and appending one `ToolSpec`
here; it then gets its own virtual environment and its own column in the result table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent
REPO_ROOT = PEERS_DIR.parents[1]


@dataclass(frozen=True)
class ToolSpec:
    """One benchmarked tool."""

    key: str
    """Identifier: venv directory name and ``--tools`` filter value."""

    label: str
    """Column heading in the result table."""

    module: str
    """Adapter script, relative to ``bench/peers/``."""

    requirements: tuple[str, ...]
    """``pip install`` arguments (run from the repository root, so local paths work)."""

    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Extra variants per workload, measured when the driver is given ``--variants``."""

    @property
    def script(self) -> Path:
        """Absolute path of the adapter script."""
        return PEERS_DIR / self.module


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        key="ours",
        label="FlowyML Orchestrators (local)",
        module="tool_ours.py",
        requirements=("./flowyml-core", "./flowyml-local", "numpy"),
    ),
    ToolSpec(
        key="flowyml221",
        label="flowyml 2.2.1 (PyPI)",
        module="tool_flowyml221.py",
        requirements=("flowyml==2.2.1", "numpy"),
        variants={
            "W1": ("no_checkpointing",),
            "W2": ("parallel_map",),
            "W3": ("input_hash",),
            "W4": ("no_checkpointing",),
        },
    ),
    ToolSpec(
        key="prefect3",
        label="Prefect 3",
        module="tool_prefect.py",
        requirements=("prefect>=3,<4", "numpy"),
        variants={"W2": ("default_workers",), "W4": ("default_policy",)},
    ),
    ToolSpec(
        key="dagster",
        label="Dagster",
        module="tool_dagster.py",
        requirements=("dagster==1.13.29", "numpy"),
        variants={"W2": ("in_process",), "W6": ("multiprocess",)},
    ),
    ToolSpec(
        key="zenml",
        label="ZenML",
        module="tool_zenml.py",
        requirements=("zenml[local]==0.98.0", "numpy"),
        variants={"W2": ("static",)},
    ),
    ToolSpec(
        key="dask",
        label="Dask threaded (floor, not a pipeline tool)",
        module="tool_dask.py",
        requirements=("dask==2026.8.0", "numpy"),
    ),
)


def select(keys: list[str] | None) -> list[ToolSpec]:
    """The registered tools named in `keys` (all when empty), in registry order."""
    if not keys:
        return list(TOOLS)
    unknown = set(keys) - {t.key for t in TOOLS}
    if unknown:
        raise SystemExit(f"unknown tool(s): {', '.join(sorted(unknown))}")
    return [t for t in TOOLS if t.key in keys]
