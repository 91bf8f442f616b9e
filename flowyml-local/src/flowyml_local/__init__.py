"""FlowyML Orchestrators' local backends: ``local`` (in process) and ``subprocess``."""

from flowyml_local.local_executor import LocalExecutor, LocalExecutorConfig
from flowyml_local.subprocess_executor import SubprocessExecutor, SubprocessExecutorConfig

__all__ = ["LocalExecutor", "LocalExecutorConfig", "SubprocessExecutor", "SubprocessExecutorConfig"]
__version__ = "0.1.0"
