"""``python -m flowyml`` runs the command-line interface."""

from flowyml.cli.main import main

main()
