"""Conformance: the backend class keeps the plugin contract."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from flowyml.errors import ConfigError
from flowyml.execution.executor import Executor, ExecutorConfig
from flowyml.execution.remote import RemoteOrchestrator, RemoteOrchestratorConfig
from flowyml.plugins.manager import get_plugin_manager
from flowyml.testing.harness import ConformanceBase, ConformanceProject

__all__ = ["ContractTests"]

# The methods whose signatures the seed API fixes, by contract.
EXECUTOR_METHODS = ("execute_step", "execute_step_group")
REMOTE_METHODS = (
    "run_pipeline",
    "get_run_status",
    "get_run_details",
    "get_run_logs",
    "stream_logs",
    "stop_run",
    "validate",
    "to_dict",
)


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    """Name, kind and default of each parameter: what a caller relies on."""
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


class ContractTests(ConformanceBase):
    """The backend is registered once under its name, validates its settings with a
    pydantic model, implements its abstract base class and keeps the seed signatures."""

    def test_backend_is_registered_under_its_name(self, conformance: ConformanceProject) -> None:
        info = conformance.backend_info()
        assert info.name == conformance.backend_name
        assert info.cls.name == conformance.backend_name
        assert info.kind == ("orchestrator" if conformance.is_remote else "executor")
        assert info.distribution and info.plugin

    def test_backend_name_is_claimed_by_one_plugin_only(
        self, conformance: ConformanceProject
    ) -> None:
        manager = get_plugin_manager()
        conformance.backend_info()  # raises PluginError naming both when two claim it
        claimed = f"backend name '{conformance.backend_name}' is claimed"
        claims = [e for e in manager.errors if claimed in str(e)]
        assert not claims, [str(e) for e in claims]

    def test_backend_implements_its_abstract_base_class(
        self, conformance: ConformanceProject
    ) -> None:
        cls = conformance.backend_info().cls
        assert issubclass(cls, Executor | RemoteOrchestrator)
        assert not (issubclass(cls, Executor) and issubclass(cls, RemoteOrchestrator))
        assert not getattr(cls, "__abstractmethods__", None)

    def test_settings_model_is_pydantic_and_rejects_unknown_keys(
        self, conformance: ConformanceProject
    ) -> None:
        cls = conformance.backend_info().cls
        base = RemoteOrchestratorConfig if conformance.is_remote else ExecutorConfig
        assert issubclass(cls.config_model, BaseModel)
        assert issubclass(cls.config_model, base), f"extend {base.__name__}"
        settings = conformance.stack_config().settings
        unknown = set(settings) - set(cls.config_model.model_fields)
        assert not unknown, f"the stack's settings {sorted(unknown)} are not model fields"
        with pytest.raises((ValidationError, ConfigError)):
            cls.from_config({**settings, "conformance_no_such_setting": 1})

    def test_from_config_builds_the_backend_from_its_settings(
        self, conformance: ConformanceProject
    ) -> None:
        cls = conformance.backend_info().cls
        backend = cls.from_config(conformance.stack_config().settings)
        assert isinstance(backend, cls)
        assert backend.name == conformance.backend_name

    def test_contract_methods_keep_the_seed_signatures(
        self, conformance: ConformanceProject
    ) -> None:
        cls = conformance.backend_info().cls
        base: type[Any] = RemoteOrchestrator if conformance.is_remote else Executor
        methods = REMOTE_METHODS if conformance.is_remote else EXECUTOR_METHODS
        for method in methods:
            own = getattr(cls, method, None)
            assert callable(own), f"{cls.__qualname__} has no method {method}"
            assert _parameters(own) == _parameters(getattr(base, method)), (
                f"{cls.__qualname__}.{method}{inspect.signature(own)} differs from "
                f"{base.__name__}.{method}{inspect.signature(getattr(base, method))}"
            )

    def test_remote_orchestrator_validates_and_describes_itself(
        self, conformance: ConformanceProject
    ) -> None:
        self.require_remote(conformance, "validate() and to_dict()")
        backend = conformance.new_backend()
        assert isinstance(backend, RemoteOrchestrator)
        assert backend.validate() is True
        described = backend.to_dict()
        assert isinstance(described, dict)
        json.dumps(described)  # plain data
