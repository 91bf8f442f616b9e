"""``python -m flowyml`` runs the command-line interface."""

from flowyml.cli import main

main()
