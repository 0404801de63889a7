"""``python -m fieldpass`` runs the command line."""

from fieldpass.cli import main

main()
