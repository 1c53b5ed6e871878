"""`python -m tinygrad_ae train|bench|graph`: see cli.py."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m tinygrad_ae"))
