"""Plugin discovery and backend validation with no backend plugin installed."""

from __future__ import annotations

import pytest

from flowyml import Executor, PluginError, hookimpl
from flowyml.plugins.manager import PluginManager


class _Good(Executor):
    name = "good"

    def execute_step(
        self,
        step,
        inputs,
        context_params,
        cache_store=None,
        artifact_store=None,
        run_id=None,
        project_name="default",
        all_outputs=None,
    ):
        raise AssertionError("not called")


class _Abstract(Executor):
    name = "abstract"


class _Twin(_Good):
    pass


def _plugin(*classes):
    class Plugin:
        @hookimpl
        def flowyml_register_backends(self):
            return list(classes)

    return Plugin()


def test_unknown_backend_lists_installed_backends():
    manager = PluginManager()
    manager.register(_plugin(_Good), "mine", "flowyml-mine")
    with pytest.raises(PluginError, match="unknown backend 'nope'; installed backends: .*good"):
        manager.get_backend("nope")


def test_class_missing_abstract_methods_is_refused_and_named():
    manager = PluginManager()
    manager.register(_plugin(_Abstract, _Good), "mine", "flowyml-mine")
    assert "good" in manager.backends() and "abstract" not in manager.backends()
    assert any(
        "distribution 'flowyml-mine'" in str(e) and "does not implement execute_step" in str(e)
        for e in manager.errors
    )


def test_two_plugins_claiming_one_name_name_both_and_others_work():
    manager = PluginManager()
    manager.register(_plugin(_Good), "one", "flowyml-one")
    manager.register(_plugin(_Twin, _Abstract), "two", "flowyml-two")
    with pytest.raises(PluginError) as info:
        manager.get_backend("good")
    assert "flowyml-one" in str(info.value) and "flowyml-two" in str(info.value)


def test_a_hook_that_raises_is_isolated():
    class Exploding:
        @hookimpl
        def flowyml_register_backends(self):
            raise RuntimeError("kaboom")

    manager = PluginManager()
    manager.register(Exploding(), "bad", "flowyml-bad")
    manager.register(_plugin(_Good), "good", "flowyml-good")
    assert "good" in manager.backends()
    assert any("flowyml-bad" in str(e) and "kaboom" in str(e) for e in manager.errors)
