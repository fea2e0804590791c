"""``python -m evospikenet`` runs the CLI."""

from evospikenet.cli import main

if __name__ == "__main__":  # importing the module (autodoc, pydoc) runs nothing
    main()
