"""Cost of a Hessian-vector product against one gradient, on the autoencoder's loss.

At the mnist size (a batch of 256 rows of 784 inputs, k = 128 hidden units, sigmoid encoder, linear
decoder, squared error) it times, wrt all four parameters (W, b, W*, c):
  * one gradient: the forward pass and tg.grad;
  * one hvp: tg.autograd.hvp(loss, (W, b, W*, c), v), forward pass included.
Both run interleaved, round after round, in one process; the table gives the medians and their ratio
(target: hvp at most 5x one gradient; HIPS autograd documents about 4x).

    python benchmarks/bench_hvp.py [--rounds 15] [--batch 256] [--inputs 784] [--hidden 128]
                                   [--dtypes float32 float64]
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
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor


def make_problem(batch, n_inputs, n_hidden, dtype, seed=0):
    rng = np.random.default_rng(seed)
    ae = tg.Autoencoder(n_inputs=n_inputs, n_hidden=n_hidden, dtype=dtype, seed=seed)
    X = Tensor(rng.uniform(0, 1, (batch, n_inputs)).astype(dtype))
    params = tuple(Tensor(p.data, requires_grad=True)
                   for p in (ae.encoder.weight, ae.encoder.bias, ae.decoder.weight, ae.decoder.bias))
    v = tuple(Tensor(rng.standard_normal(p.shape).astype(dtype)) for p in params)

    def loss(W, b, W_star, c):
        return F.mse_loss(F.linear(F.linear(X, W, b).sigmoid(), W_star, c), X, reduction="batchmean")

    return loss, params, v


def measure(batch, n_inputs, n_hidden, dtype, rounds):
    loss, params, v = make_problem(batch, n_inputs, n_hidden, dtype)
    contenders = {
        "gradient": lambda: tg.grad(loss(*params), params),
        "hvp": lambda: tg.autograd.hvp(loss, params, v),
    }
    for run in contenders.values():              # warm-up (and a check that both run)
        run()
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():     # interleaved: both see the same machine state
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--inputs", type=int, default=784)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    args = parser.parse_args(argv)
    command = " ".join(["python benchmarks/bench_hvp.py"] + (sys.argv[1:] if argv is None else list(argv)))
    lines = [f"`{command}`", "",
             f"autoencoder loss wrt (W, b, W*, c), batch {args.batch}, {args.inputs} inputs, "
             f"k = {args.hidden}; medians of {args.rounds} interleaved rounds", "",
             "| dtype | one gradient (ms) | hvp (ms) | hvp / gradient | target |",
             "|---|---:|---:|---:|---|"]
    results = {}
    for name in args.dtypes:
        medians = measure(args.batch, args.inputs, args.hidden, np.dtype(name), args.rounds)
        ratio = medians["hvp"] / medians["gradient"]
        results[name] = dict(medians, ratio=ratio)
        lines.append(f"| {name} | {medians['gradient'] * 1e3:.2f} | {medians['hvp'] * 1e3:.2f} | "
                     f"{ratio:.2f}x | {'met' if ratio <= 5 else 'missed'} (<= 5x) |")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
