"""``python -m immunomod`` runs the CLI."""

from immunomod.interfaces.cli import main

main()
