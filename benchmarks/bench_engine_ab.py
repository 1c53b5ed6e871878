"""Engine A/B: the eager training step of this checkout against an older copy of the package, in one process.

The older copy is imported under another name (copy its `tinygrad_ae/` folder to DIR/tinygrad_ae_base;
the package's imports are relative, so it runs as is). Both steps and the per-op chain are timed
interleaved, round by round, so they share the machine's noise; the report is the ratio of medians.
"model" is the public training step (Autoencoder.loss, backward, SGD); "engine" the same graph built with
F.linear and the losses directly, so that both packages run the same calls and only the engine and the
derivative table differ.

    git worktree add /tmp/base <commit> && cp -r /tmp/base/tinygrad_ae /tmp/ab/tinygrad_ae_base
    python benchmarks/bench_engine_ab.py --base-dir /tmp/ab [--rounds 31]
"""
import argparse
import importlib
import statistics
import sys
import time

import numpy as np

SIZES = {"tiny": (16, 64, 16), "digits": (64, 64, 32), "mnist": (256, 784, 128)}
SIZES = {k: SIZES[k] for k in __import__("os").environ.get("AB_SIZES", "tiny digits mnist").split()}


def make_step(tg, m, n, k, dtype, loss):
    """One SGD step of the lecture's autoencoder through the public calls."""
    decoder = "sigmoid" if loss == "bce" else "linear"
    ae = tg.Autoencoder(n, k, encoder="sigmoid", decoder=decoder, dtype=dtype, seed=0)
    X = np.random.default_rng(0).uniform(0, 1, (m, n)).astype(dtype)
    if loss == "bce":
        X = (X > 0.5).astype(dtype)
    opt = tg.optim.SGD(ae.parameters(), lr=0.01)
    x = tg.Tensor(X)

    def step():
        opt.zero_grad()
        out = ae.loss(x)
        out.backward()
        opt.step()
    return step


def make_engine_step(tg, m, n, k, dtype, loss):
    """The same step through F.linear and the losses directly: the engine and the table alone, without
    the model's layers (nn.Linear, the Autoencoder's options), so the two packages run the same calls."""
    ae = tg.Autoencoder(n, k, encoder="sigmoid", decoder="sigmoid" if loss == "bce" else "linear",
                        dtype=dtype, seed=0)
    W, b, W2, c = ae.encoder.weight, ae.encoder.bias, ae.decoder.weight, ae.decoder.bias
    X = np.random.default_rng(0).uniform(0, 1, (m, n)).astype(dtype)
    if loss == "bce":
        X = (X > 0.5).astype(dtype)
    x, F, params = tg.Tensor(X), tg.functional, (W, b, W2, c)

    def step():
        for p in params:
            p.grad = None
        a2 = F.linear(F.linear(x, W, b).sigmoid(), W2, c)
        out = (F.binary_cross_entropy_with_logits(a2, x, reduction="batchmean") if loss == "bce"
               else F.mse_loss(a2, x, reduction="batchmean"))
        out.backward()
        for p in params:
            p.data -= 0.01 * p.grad
    return step


def time_interleaved(contenders, rounds, repeats):
    times = {name: [] for name in contenders}
    order = list(contenders.items())
    for round_number in range(rounds):
        # every other round in reverse, so that no contender always runs right after the same one
        for name, fn in (order if round_number % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            times[name].append((time.perf_counter() - start) / repeats * 1e6)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-dir", required=True, help="folder holding tinygrad_ae_base/")
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args(argv)
    sys.path.insert(0, args.base_dir)
    base = importlib.import_module("tinygrad_ae_base")
    import tinygrad_ae as new
    from tinygrad_ae.race import chain
    base_chain = importlib.import_module("tinygrad_ae_base.race.chain")
    print(f"`{' '.join(sys.argv)}`: median of {args.rounds} interleaved rounds\n")
    print("| step | model before us | model after us | after / before | engine before us | engine after us | after / before |")
    print("|---|---|---|---|---|---|---|")
    for size, (m, n, k) in SIZES.items():
        for dtype in ("float32", "float64"):
            for loss in ("mse", "bce"):
                steps = {"before": make_step(base, m, n, k, dtype, loss), "after": make_step(new, m, n, k, dtype, loss),
                         "engine before": make_engine_step(base, m, n, k, dtype, loss),
                         "engine after": make_engine_step(new, m, n, k, dtype, loss)}
                repeats = 3 if size == "mnist" else 30
                for fn in steps.values():
                    fn()
                t = time_interleaved(steps, args.rounds, repeats)
                print(f"| {size} {dtype} {loss} | {t['before']:.1f} | {t['after']:.1f} | {t['after'] / t['before']:.3f} "
                      f"| {t['engine before']:.1f} | {t['engine after']:.1f} "
                      f"| {t['engine after'] / t['engine before']:.3f} |", flush=True)
    x0 = np.array([0.3])
    chains = {"before": lambda: base_chain.chain_tinygrad(2000, x0), "after": lambda: chain.chain_tinygrad(2000, x0),
              "numpy": lambda: chain.chain_numpy(2000, x0)}
    t = time_interleaved(chains, args.rounds, 1)
    print(f"\nper-op chain (2000 ops, us/op): before {t['before'] / 2000:.2f}, after {t['after'] / 2000:.2f}, "
          f"numpy by hand {t['numpy'] / 2000:.2f}; after / numpy = {t['after'] / t['numpy']:.2f}x")


if __name__ == "__main__":
    main()
