"""`python -m tinygrad_ae.race`: the same as `python -m tinygrad_ae bench` (and what each run alone starts)."""
import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
