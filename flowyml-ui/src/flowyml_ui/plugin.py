"""Adds ``flowyml ui`` to the command line.

Every ``flowyml`` command loads this module, so it imports nothing but click here: the web
stack (Starlette, uvicorn) is imported when ``flowyml ui`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowyml.backend import hookimpl

__all__ = ["flowyml_register_commands"]

DEFAULT_PORT = 8765


@hookimpl
def flowyml_register_commands(cli: Any) -> None:
    """Add the ``ui`` command."""
    import signal

    import click

    @click.command("ui")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
    @click.option(
        "--port",
        default=DEFAULT_PORT,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Port to listen on (0: any free port).",
    )
    @click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
    @click.option("--allow-stop", is_flag=True, help="Show a Stop button that stops a running run.")
    @click.option(
        "--token",
        envvar="FLOWYML_UI_TOKEN",
        help="Access token (generated when not given; required off loopback).",
    )
    @click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        help="The project folder (default: the one holding the working directory).",
    )
    def ui(
        host: str,
        port: int,
        open_browser: bool,
        allow_stop: bool,
        token: str | None,
        project: Path | None,
    ) -> None:
        """Serve a live web page of the project's runs, steps, DAG and logs."""
        from flowyml_ui.serve import UiError, serve

        try:
            serve(
                host=host,
                port=port,
                open_browser=open_browser,
                allow_stop=allow_stop,
                token=token,
                project=project,
            )
        except UiError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            # uvicorn stops on Ctrl-C, then raises it again: exit as the other commands do.
            raise SystemExit(128 + signal.SIGINT) from None

    cli.add_command(ui)
