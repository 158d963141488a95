"""``python -m mathcls`` (and ``accelerate launch -m mathcls``) runs the CLI."""

from .cli import main

if __name__ == "__main__":
    main()
