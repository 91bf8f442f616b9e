"""Backends registered by reference: imported only when used, checked as classes are."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowyml import PluginError, hookimpl
from flowyml.backend import BackendReference
from flowyml.plugins.manager import PluginManager

_MODULE = textwrap.dedent(
    """
    from flowyml import Executor

    class LazyExecutor(Executor):
        name = "lazy"

        def execute_step(self, step, inputs, context_params, cache_store=None,
                         artifact_store=None, run_id=None, project_name="default",
                         all_outputs=None):
            raise AssertionError("not called")

    class Misnamed(LazyExecutor):
        name = "something-else"

    class Abstract(Executor):
        name = "abstract"
    """
)


@pytest.fixture
def backend_module(tmp_path: Path) -> Iterator[str]:
    """A module of backend classes, importable but not imported."""
    name = f"lazy_backends_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(_MODULE)
    sys.path.insert(0, str(tmp_path))
    yield name
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)


def _plugin(*items: object) -> object:
    class Plugin:
        @hookimpl
        def flowyml_register_backends(self) -> list[object]:
            return list(items)

    return Plugin()


def _ours(errors: list[PluginError]) -> list[PluginError]:
    """The errors of this test's plugins (others may be installed beside the core)."""
    return [e for e in errors if "flowyml-lazy" in str(e)]


def _manager(*items: object, distribution: str = "flowyml-lazy") -> PluginManager:
    manager = PluginManager()
    manager.register(_plugin(*items), "lazy-plugin", distribution)
    return manager


def test_a_referenced_backend_is_imported_only_when_it_is_used(backend_module: str) -> None:
    manager = _manager(BackendReference("lazy", f"{backend_module}:LazyExecutor"))
    assert "lazy" in manager.backend_names() and manager.provides("lazy")
    assert backend_module not in sys.modules
    info = manager.get_backend("lazy")
    assert info.cls.__name__ == "LazyExecutor" and info.kind == "executor"
    assert (info.plugin, info.distribution) == ("lazy-plugin", "flowyml-lazy")
    assert backend_module in sys.modules
    assert manager.get_backend("lazy") is info  # imported and checked once
    assert manager.backends()["lazy"] is info and not _ours(manager.errors)


def test_a_conflict_is_found_without_importing_either_backend(backend_module: str) -> None:
    manager = PluginManager()
    manager.register(
        _plugin(BackendReference("lazy", f"{backend_module}:LazyExecutor")), "one", "flowyml-one"
    )
    manager.register(
        _plugin(BackendReference("lazy", f"{backend_module}:Misnamed")), "two", "flowyml-two"
    )
    assert not manager.provides("lazy") and "lazy" not in manager.backend_names()
    with pytest.raises(PluginError, match="backend name 'lazy' is claimed by") as raised:
        manager.get_backend("lazy")
    assert "'flowyml-one'" in str(raised.value) and "'flowyml-two'" in str(raised.value)
    assert backend_module not in sys.modules


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("no_such_module_here:Thing", "failed to import: ModuleNotFoundError"),
        ("{module}:Missing", "failed to import: AttributeError"),
        ("{module}:Misnamed", "is a class named 'something-else'"),
        ("{module}:Abstract", "does not implement execute_step"),
    ],
)
def test_a_broken_reference_is_named_when_used_and_others_keep_working(
    backend_module: str, target: str, problem: str
) -> None:
    manager = _manager(
        BackendReference("broken", target.format(module=backend_module)),
        BackendReference("lazy", f"{backend_module}:LazyExecutor"),
    )
    with pytest.raises(PluginError) as raised:
        manager.get_backend("broken")
    message = str(raised.value)
    assert "plugin 'lazy-plugin' from distribution 'flowyml-lazy'" in message
    assert "backend 'broken'" in message and problem in message, message
    backends = manager.backends()
    assert "lazy" in backends and "broken" not in backends
    assert not manager.provides("broken") and "broken" not in manager.backend_names()
    assert [str(e) for e in _ours(manager.errors)] == [message]  # reported once


@pytest.mark.parametrize("target", ["no_colon", ":Class", "module:", ""])
def test_a_malformed_reference_is_refused_at_registration(target: str) -> None:
    manager = _manager(BackendReference("odd", target))
    assert "odd" not in manager.backend_names()
    [error] = _ours(manager.errors)
    assert "needs a name and a target 'module:Class'" in str(error)
