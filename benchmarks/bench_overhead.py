"""Per-op overhead: forward + backward of a long chain of elementwise ops on a 1-element array.

At this size the arithmetic is nothing, so the time is the framework's bookkeeping per op: making the
node and the output tensor, the topological sort, and dispatching each backward. The same chain is
written by hand in plain numpy (forward, then the hand-derived backward) and timed in the same
process, interleaved round by round, so the reported ratio shares the machine's noise.

    python benchmarks/bench_overhead.py [--ops 10000] [--rounds 15]
"""
import argparse
import statistics
import sys
import time

import numpy as np

try:
    import tinygrad_ae as tg
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])
    import tinygrad_ae as tg

# The chain (x*1.5, x+0.1, tanh, sigmoid, repeated) lives in the package, where `python -m tinygrad_ae
# bench` runs it against the peer frameworks too; this script times it alone against numpy.
from tinygrad_ae.race.chain import chain_numpy, chain_tinygrad  # noqa: E402


def measure(contenders, n_ops, rounds):
    """Median microseconds per op of each contender, interleaved round by round."""
    x0 = np.array([0.3])
    for fn in contenders.values():  # warm-up
        fn(n_ops // 10, x0)
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn(n_ops, x0)
            times[name].append((time.perf_counter() - start) / n_ops * 1e6)
    return {name: (statistics.median(t), min(t), max(t)) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000, help="length of the chain")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per contender")
    args = parser.parse_args(argv)

    x0 = np.array([0.3])
    mine, reference = chain_tinygrad(2000, x0), chain_numpy(2000, x0)
    if not np.allclose(mine, reference, rtol=1e-12, atol=0):
        raise SystemExit(f"the two chains disagree: {mine} vs {reference}")

    results = measure({"tinygrad_ae": chain_tinygrad, "numpy by hand": chain_numpy}, args.ops, args.rounds)
    base = results["numpy by hand"][0]
    print(f"chain of {args.ops} elementwise ops on a 1-element float64 array, forward + backward, "
          f"median of {args.rounds} interleaved rounds")
    print("| contender | us per op (median) | min-max | ratio to numpy by hand |")
    print("|---|---|---|---|")
    for name, (median, low, high) in results.items():
        print(f"| {name} | {median:.2f} | {low:.2f}-{high:.2f} | {median / base:.2f}x |")
    return results


if __name__ == "__main__":
    main()
