"""Entry-point discovery with a third-party plugin and a broken one installed."""

from __future__ import annotations

import pytest

from flowyml import Pipeline, PluginError, step
from flowyml.plugins.manager import get_plugin_manager


def test_our_backends_come_through_the_entry_point_group(project):
    backends = get_plugin_manager().backends()
    assert backends["local"].distribution == "flowyml-local"
    assert backends["subprocess"].plugin == "local"


def test_third_party_backend_is_discovered_and_runs_a_pipeline(project):
    from flowyml_fake.plugin import FakeExecutor

    info = get_plugin_manager().get_backend("fake")
    assert (info.distribution, info.version) == ("flowyml-fake", "0.0.7")

    @step(outputs=["x"])
    def one():
        return 1

    run = Pipeline("third", steps=[one]).run("fake")
    assert run.success and run.outputs["x"] == 1 and "one" in FakeExecutor.executed


def test_plugin_raising_on_import_is_reported_and_isolated(project):
    manager = get_plugin_manager()
    manager.backends()
    messages = [str(e) for e in manager.errors]
    assert any(
        "plugin 'broken'" in m and "distribution 'flowyml-broken'" in m and "not-installed" in m
        for m in messages
    )
    assert "local" in manager.backends()


def test_class_breaking_the_contract_is_refused(project):
    manager = get_plugin_manager()
    assert "not-a-backend" not in manager.backends()
    assert any("NotABackend subclasses neither" in str(e) for e in manager.errors)


def test_unknown_backend_lists_installed_ones_and_broken_plugins(project):
    @step(outputs=["x"])
    def one():
        return 1

    with pytest.raises(PluginError) as info:
        Pipeline("p", steps=[one]).run("kubernetes")
    message = str(info.value)
    assert "unknown stack or backend 'kubernetes' (the requested stack)" in message
    assert "fake, local, subprocess" in message and "flowyml-broken" in message


def test_invalid_backend_setting_names_backend_file_and_key(project):
    from flowyml import ConfigError

    (project / "flowyml.yaml").write_text(
        "stacks:\n  dev:\n    backend: local\n    settings: {max_wokers: 3}\n"
    )

    @step(outputs=["x"])
    def one():
        return 1

    with pytest.raises(
        ConfigError, match=r"(?s)backend 'local'.*unknown key 'stacks\.dev\.settings\.max_wokers'"
    ):
        Pipeline("p", steps=[one]).run("dev")


def test_a_plugin_adds_a_command_to_the_command_line(tmp_path):
    from cli_process import FlowymlCli

    done = FlowymlCli(tmp_path).run("fake-hello", "ada")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello ada, from flowyml-fake\n"
    listed = FlowymlCli(tmp_path).run("--help")
    assert "fake-hello" in listed.stdout and "Say hello" in listed.stdout


def test_a_run_imports_only_the_backend_it_runs_on(tmp_path):
    # flowyml-local registers both of its executors by reference: a run on `local` does
    # not import the subprocess executor (nor any other plugin's backend module).
    from one_step_project import check_after_a_local_run

    check_after_a_local_run(
        tmp_path,
        "assert {'local', 'subprocess'} <= set(manager.backend_names())\n"
        "assert 'flowyml_local.local_executor' in sys.modules\n"
        "assert 'flowyml_local.subprocess_executor' not in sys.modules\n",
    )
