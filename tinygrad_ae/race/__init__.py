"""The autoencoder race: one training step of tinygrad_ae against hand-written numpy and peer frameworks.

    python -m tinygrad_ae bench [--quick] [--out DIR]      (or python -m tinygrad_ae.race)

Contenders: tinygrad_ae (tg.Autoencoder + optim.SGD: zero_grad, loss, backward, step, the public
calls), the numpy baseline (the lecture's closed-form gradients, preallocated and in place), naive
numpy (the same maths, every expression allocating), and PyTorch, HIPS autograd and MyGrad when
installed. Each is checked against the baseline before anything is timed, then timed interleaved in
one process and alone in fresh ones, against the floor of the step's five GEMMs.

Read in this order, one job per module:

  problem.py      the step every contender solves, the numpy baseline, the GEMM bound, the gate's check
  contenders.py   tinygrad_ae, naive numpy and the peers; which of them are installed; the gate
  timing.py       interleaved and alone (fresh processes, busy-machine retries), page faults, peak memory
  chain.py        the per-op overhead chain (benchmarks/bench_overhead.py runs it on its own)
  report.py       the machine's description, the project's goals checked, the markdown and JSON
  command.py      `run` (every measurement, in order) and `main` (the command line)
"""
from .command import main, run
from .contenders import CONTENDERS, TinygradStep, available, gate
from .problem import (BASELINE, DTYPES, GATE_TOLERANCE, LOSSES, PARAMETERS, SIZES, GateError, GemmBound,
                      FoldedNumpyBaseline, NumpyBaseline, Problem, check_agreement)

__all__ = ["main", "run", "CONTENDERS", "TinygradStep", "available", "gate", "BASELINE", "DTYPES",
           "GATE_TOLERANCE", "LOSSES", "PARAMETERS", "SIZES", "GateError", "GemmBound", "NumpyBaseline", "FoldedNumpyBaseline",
           "Problem", "check_agreement"]
