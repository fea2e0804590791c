"""``python -m evospikenet`` runs the CLI."""

from evospikenet.cli import main

main()
