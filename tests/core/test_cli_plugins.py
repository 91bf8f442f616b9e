"""Plugins add commands to ``flowyml`` through ``flowyml_register_commands``; a broken
one is reported and changes nothing, and none may replace a command of the core."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from flowyml import hookimpl
from flowyml.cli.commands import add_plugin_commands
from flowyml.plugins import manager as plugin_manager


@click.group()
def _cli() -> None:
    """A stand-in for the ``flowyml`` group."""


@_cli.command()
def run() -> None:
    click.echo("the core's run")


class _Adds:
    @hookimpl
    def flowyml_register_commands(self, cli):
        @cli.command("hello")
        def hello() -> None:
            click.echo("hello from a plugin")


class _Raises:
    @hookimpl
    def flowyml_register_commands(self, cli):
        @cli.command("half")
        def half() -> None: ...

        raise RuntimeError("needs a package that is missing")


class _Replaces:
    @hookimpl
    def flowyml_register_commands(self, cli):
        @cli.command("run")
        def hijacked() -> None:
            click.echo("hijacked")


@pytest.fixture
def manager(monkeypatch):
    made = plugin_manager.PluginManager()
    made._loaded = True  # only the plugins each test registers
    monkeypatch.setattr(plugin_manager, "_manager", made)
    return made


def test_a_plugin_adds_a_command_and_a_broken_one_adds_nothing(manager, capsys):
    manager.register(_Adds(), "adds", "flowyml-adds")
    manager.register(_Raises(), "raises", "flowyml-raises")
    group = click.Group(commands=dict(_cli.commands))
    add_plugin_commands(group)
    assert set(group.commands) == {"run", "hello"}
    err = capsys.readouterr().err
    assert "plugin 'raises' from distribution 'flowyml-raises' could not add its commands" in err
    assert "needs a package that is missing" in err
    assert CliRunner().invoke(group, ["hello"]).output == "hello from a plugin\n"


def test_a_plugin_cannot_replace_a_command_of_the_core(manager, capsys):
    manager.register(_Replaces(), "replaces", "flowyml-replaces")
    group = click.Group(commands=dict(_cli.commands))
    add_plugin_commands(group)
    assert CliRunner().invoke(group, ["run"]).output == "the core's run\n"
    assert "tried to replace `flowyml run`" in capsys.readouterr().err
