"""The race as a command: `python -m tinygrad_ae bench [--quick] [--out DIR] ...` runs `main`.

`run` takes every measurement the report needs, configuration by configuration: the correctness
gate first (nothing is timed for a contender that computes something else), then the contenders
interleaved, then each alone in fresh processes (`--worker` is what such a process runs), then
peak memory; and the per-op overhead chain at the end.
"""
import argparse
import json
import os
import sys

from .chain import overhead_chain
from .contenders import CONTENDERS, TRACEABLE, available, gate
from .problem import BASELINE, DTYPES, LEARNING_RATE, LOSSES, SIZES, GateError, GemmBound, Problem
from .report import check_targets, machine_info, source_fingerprint, write_report
from .timing import (alone_in_fresh_processes, alone_in_this_process, freeze_imports, interleaved_quietest,
                     match_threads, peak_memory)

DESCRIPTION = "The autoencoder race: one training step of tinygrad_ae against hand-written numpy and peer frameworks."


def run(sizes, dtypes, losses, names, rounds, seconds, alone_runs, processes, overhead_ops, overhead_rounds, log):
    """Everything the report needs, as one JSON-able dict."""
    notes = [note for note in (available(name) for name in names) if note]
    names = [name for name in names if available(name) is None]
    if BASELINE not in names:
        names.insert(0, BASELINE)
    match_threads()                           # available() has imported the peers that are installed
    freeze_imports()
    results = {"machine": machine_info(), "source": source_fingerprint(), "contenders": names, "notes": notes,
               "configs": [], "rounds": rounds, "processes_alone": processes, "seconds_per_measurement": seconds,
               "learning_rate": LEARNING_RATE}
    for size in sizes:
        for dtype in dtypes:
            for loss in losses:
                problem = Problem(size, dtype, loss)
                log(f"{problem.label}: gate")
                entry = {"size": size, "shape_mnk": SIZES[size], "dtype": dtype, "loss": loss,
                         "gate": gate(problem, names)}
                log(f"{problem.label}: interleaved")
                entry["interleaved"] = interleaved_quietest(problem, names, rounds, seconds, log)
                bound = entry["interleaved"].pop(GemmBound.name)
                entry["gemm_bound"] = dict(bound, gflops=GemmBound.flops(problem) / bound["median_us"] / 1e3)
                entry["alone"] = alone_in_fresh_processes(
                    problem, [name for name in names if alone_runs(size, dtype, loss, name)],
                    rounds, seconds, processes, bound["min_us"], log)
                entry["memory"] = {name: peak_memory(problem, name) for name in names if name in TRACEABLE}
                results["configs"].append(entry)
    log("overhead chain")
    results["overhead_chain"] = {"n_ops": overhead_ops, "rounds": overhead_rounds,
                                 "results": overhead_chain(names, overhead_ops, overhead_rounds)}
    results["machine"]["load_average_at_end"] = os.getloadavg()
    if source_fingerprint() != results["source"]:
        results["notes"].append("tinygrad_ae's source files changed during this run: its figures mix two "
                                "versions; run it again")
    results["targets"] = check_targets(results)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinygrad_ae bench", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run in a few seconds: tiny float32 only, few rounds, two runs alone")
    parser.add_argument("--out", default="bench-results", metavar="DIR",
                        help="folder for benchmark.json and benchmark.md (default: ./bench-results)")
    parser.add_argument("--sizes", nargs="+", choices=SIZES, help="default: all")
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, help="default: both")
    parser.add_argument("--losses", nargs="+", choices=LOSSES, help="default: both")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, help="default: all installed")
    parser.add_argument("--rounds", type=int, help="timed rounds per contender (default 11, quick 3)")
    parser.add_argument("--no-alone", action="store_true", help="skip the runs alone in fresh processes")
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per contender and configuration for the runs alone (default 3)")
    parser.add_argument("--overhead-ops", type=int, help="length of the per-op overhead chain (default 10000)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)   # internal: one contender alone, JSON out
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(alone_in_this_process(json.loads(args.worker))))
        return 0
    quick = args.quick
    sizes = args.sizes or (["tiny"] if quick else list(SIZES))
    dtypes = args.dtypes or (["float32"] if quick else list(DTYPES))
    losses = args.losses or list(LOSSES)
    names = args.contenders or list(CONTENDERS)
    rounds = args.rounds or (3 if quick else 11)
    if rounds < 1 or args.processes < 1:
        parser.error("--rounds and --processes must be at least 1")
    seconds = 0.002 if quick else 0.05

    def alone_runs(size, dtype, loss, name):
        if args.no_alone:
            return False
        if quick:   # tinygrad_ae and the baseline alone in the first configuration, to exercise the path
            return (size, dtype, loss) == (sizes[0], dtypes[0], losses[0]) and name in ("tinygrad_ae", BASELINE)
        return True

    command = "python -m tinygrad_ae bench " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        results = run(sizes, dtypes, losses, names, rounds, seconds, alone_runs, 1 if quick else args.processes,
                      args.overhead_ops or (300 if quick else 10_000), 3 if quick else 11,
                      log=lambda message: print(f"[bench] {message}", file=sys.stderr, flush=True))
    except GateError as error:
        raise SystemExit(f"correctness gate failed, nothing timed: {error}") from None
    results["command"] = command.strip()
    print(write_report(results, args.out))
    return 0
