"""The race's former name, kept so `python -m tinygrad_ae.benchmark` still runs it: see tinygrad_ae/race/."""
import sys

from .race import main

if __name__ == "__main__":
    sys.exit(main())
