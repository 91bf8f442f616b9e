"""FlowyML Orchestrators' Dask backend: ``dask``, each step a task on a Dask cluster."""

from flowyml_dask.settings import DaskExecutorConfig

__all__ = ["DaskExecutor", "DaskExecutorConfig"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Lazily: importing the package (or the plugin) must not import distributed.
    if name == "DaskExecutor":
        from flowyml_dask.executor import DaskExecutor

        return DaskExecutor
    raise AttributeError(name)
