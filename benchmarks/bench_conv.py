"""A small convolutional autoencoder's training step, tinygrad_ae against PyTorch eager, one process.

The model (issue 21): 28x28 inputs, batch 64, Conv2d(1, 16, 3, stride 2, padding 1), ReLU, Conv2d(16, 32,
3, stride 2, padding 1), ReLU, ConvTranspose2d(32, 16, 3, stride 2, padding 1, output_padding 1), ReLU,
ConvTranspose2d(16, 1, ...), sigmoid; mean squared error; Adam (lr 1e-3). Both frameworks start from the
same float32 weights and train on the same batches; the steps (zero_grad, forward, backward, Adam's
update) are timed one by one, interleaved (ours, torch, ours, ...), and the median of each and their
ratio (tinygrad_ae / torch) are printed, in wall-clock time and in this process's CPU time (the
steadier one on a busy machine; one thread each, so the two agree on a quiet one). --compile also
times tg.compile's replay of the same step on a third copy of the model (tests/test_conv.py checks
such a replay equal to the eager step bit for bit).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_conv.py          # one thread each (the default)
    python benchmarks/bench_conv.py --quick                         # a smoke run of a few steps
"""
import argparse
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=200, help="timed steps of each, interleaved (default 200)")
parser.add_argument("--warmup", type=int, default=10)
parser.add_argument("--threads", type=int, default=1, help="BLAS threads of numpy and PyTorch (default 1)")
parser.add_argument("--compile", action="store_true", help="also time tg.compile's replay of the step")
parser.add_argument("--quick", action="store_true", help="a few steps only (a smoke run)")
args = parser.parse_args()
if args.quick:
    args.steps, args.warmup = 5, 1
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))   # before numpy is imported
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tinygrad_ae as tg  # noqa: E402
from tinygrad_ae import optim  # noqa: E402
import tinygrad_ae.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
BATCH = 64


def build(lib):
    """The model in either framework (both have the same names)."""
    n = lib.nn
    return n.Sequential(
        n.Conv2d(1, 16, 3, stride=2, padding=1), n.ReLU(),
        n.Conv2d(16, 32, 3, stride=2, padding=1), n.ReLU(),
        n.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), n.ReLU(),
        n.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), n.Sigmoid())


def ours_and_step():
    """Our model (tg.manual_seed(0)'s start), its Adam, and its training step."""
    tg.manual_seed(0)
    model = build(tg)
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(x):
        opt.zero_grad()
        loss = F.mse_loss(model(x), x)
        loss.backward()
        opt.step()
        return loss
    return model, step


ours, step_ours = ours_and_step()
theirs = build(torch)
with torch.no_grad():                                   # the same start
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        q.copy_(torch.from_numpy(p.data))
opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
batches = [rng.random((BATCH, 1, 28, 28), dtype=np.float32) for _ in range(8)]


def step_theirs(x):
    opt_theirs.zero_grad()
    loss = torch.nn.functional.mse_loss(theirs(x), x)
    loss.backward()
    opt_theirs.step()
    return loss


def timed(fn, x):
    """(wall seconds, CPU seconds of this process): on a busy machine the CPU time is the steadier one."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(x)
    return time.perf_counter() - wall, time.process_time() - cpu


contenders = {"tinygrad_ae eager": (step_ours, [tg.Tensor(b) for b in batches]),
              "torch eager": (step_theirs, [torch.from_numpy(b) for b in batches])}
first = [step_ours(contenders["tinygrad_ae eager"][1][0]).item(), step_theirs(contenders["torch eager"][1][0]).item()]
print(f"first loss: tinygrad_ae {first[0]:.6f}, torch {first[1]:.6f}")
if args.compile:
    compiled = tg.compile(ours_and_step()[1])
    contenders["tinygrad_ae compiled"] = (compiled, contenders["tinygrad_ae eager"][1])
times = {name: [] for name in contenders}
for i in range(args.warmup + args.steps):
    for name, (fn, xs) in contenders.items():
        t = timed(fn, xs[i % len(xs)])
        if i >= args.warmup:
            times[name].append(t)
for clock, k in (("wall", 0), ("cpu", 1)):
    median = {name: statistics.median(t[k] for t in ts) for name, ts in times.items()}
    for name, m in median.items():
        print(f"{name}: {clock} median {m * 1e3:.2f} ms per step over {len(times[name])} steps "
              f"(min {min(t[k] for t in times[name]) * 1e3:.2f})")
    for name in median:
        if name != "torch eager":
            print(f"ratio ({clock}) {name} / torch eager: {median[name] / median['torch eager']:.2f}")
