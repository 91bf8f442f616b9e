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


def test_a_raising_store_hook_is_reported_once_however_often_stores_are_looked_up(tmp_path):
    class Broken:
        @hookimpl
        def flowyml_register_artifact_stores(self):
            raise RuntimeError("no credentials")

    manager = PluginManager()
    manager.register(Broken(), "broken", "flowyml-broken-store")
    for _ in range(3):
        store = manager.artifact_store_for((tmp_path / "store").as_uri())
        assert store.root.endswith("store")  # the core's file store still works
        with pytest.raises(PluginError, match="no artifact store serves 'nope://'"):
            manager.artifact_store_for("nope://bucket/key")
    reported = [e for e in manager.errors if "flowyml-broken-store" in str(e)]
    assert len(reported) == 1, manager.errors


def test_a_class_that_only_claims_to_be_a_backend_is_refused():
    class Pretender:
        name = "pretender"
        backend_kind = "spaceship"

    manager = PluginManager()
    manager.register(_plugin(Pretender, _Good), "mine", "flowyml-mine")
    assert "pretender" not in manager.backends()
    assert any("subclasses neither" in str(e) for e in manager.errors)


def test_a_store_registered_after_a_look_up_is_found(tmp_path):
    from flowyml import LocalArtifactStore

    class MemoryStore(LocalArtifactStore):
        scheme = "memtest"

    class Adds:
        @hookimpl
        def flowyml_register_artifact_stores(self):
            return [MemoryStore]

    manager = PluginManager()
    assert "memtest" not in manager.artifact_store_classes()
    manager.register(Adds(), "adds", "flowyml-adds")
    assert manager.artifact_store_classes()["memtest"] is MemoryStore
