"""One autoencoder training step, tinygrad_ae against the numpy baseline and peer frameworks.

A thin front to the race that ships inside the package (tinygrad_ae/race/), so that
`python -m tinygrad_ae bench` works on a fresh install; this script takes the same options:

    python benchmarks/bench_step.py [--quick] [--out DIR] [--sizes ...] [--dtypes ...] [--no-alone]
"""
import sys

try:
    from tinygrad_ae import race
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])
    from tinygrad_ae import race

if __name__ == "__main__":
    sys.exit(race.main())
