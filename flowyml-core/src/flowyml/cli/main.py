"""Entry point of the ``flowyml`` command.

``flowyml step-runner`` — what every container, cloud job and subprocess runs — is
dispatched here without importing the click application: a step's environment starts
that command once per step group, so its start-up cost counts. Every other command goes
to :mod:`flowyml.cli.commands`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run the ``flowyml`` command line."""
    argv = sys.argv[1:]
    if argv[:1] == ["step-runner"] and not {"-h", "--help"} & set(argv):
        from flowyml.execution.step_runner import main as step_runner_main

        sys.exit(step_runner_main(argv[1:]))
    from flowyml.cli.commands import add_plugin_commands, cli

    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command is None or command not in cli.commands:
        # Loading every plugin costs about 0.1 s: only for what the core does not answer
        # (a plugin's command, an unknown one, the top-level help).
        add_plugin_commands(cli)
    cli(prog_name="flowyml")
