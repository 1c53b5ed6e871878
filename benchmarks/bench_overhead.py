"""Per-op overhead: forward + backward of a long chain of elementwise ops on a 1-element array.

At this size the arithmetic is nothing, so the time is the framework's bookkeeping per op. The chain
and its timing live in the package (tinygrad_ae/race/chain.py), where `python -m tinygrad_ae bench`
races it against the peer frameworks too; this script runs it alone, tinygrad_ae against the same
chain written by hand in numpy, interleaved round by round in one process.

    python benchmarks/bench_overhead.py [--ops 10000] [--rounds 15]
"""
import argparse
import sys

try:
    from tinygrad_ae.race import chain, report
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])
    from tinygrad_ae.race import chain, report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000, help="length of the chain")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per contender")
    args = parser.parse_args(argv)
    results = chain.overhead_chain(["tinygrad_ae"], args.ops, args.rounds)
    print("\n".join(report.chain_table({"n_ops": args.ops, "rounds": args.rounds, "results": results})))
    return results


if __name__ == "__main__":
    main()
