"""One epoch of `python -m tinygrad_ae train --data fashion-mnist --hidden 128` against the same training
written in PyTorch eager, in one process, epochs interleaved.

Both train the train job's model (sigmoid encoder, linear decoder, squared error summed over features and
averaged over rows, k = 128, float32) from the same initial weights with Adam (lr 0.003, PyTorch's
defaults otherwise) on batches of 32 drawn in the same order (the library's iterate_minibatches with
the same seed), on the train job's 80/20 split of Fashion-MNIST's 60,000 training rows. tinygrad_ae runs
the library's loop (`Autoencoder.train_epoch` with the compiled step that `fit` and `train` use; with
--no-compile, the eager step); PyTorch runs the loop an idiomatic script would: nn.Sequential of
nn.Linear and nn.Sigmoid, F.mse_loss(reduction="sum") / m, torch.optim.Adam, loss.item() per step. Each
epoch also evaluates the loss on the training and the validation rows, as `train`'s epoch does
(tinygrad_ae's `evaluate`, PyTorch under no_grad in the same blocks of 1024 rows).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_train_torch.py --epochs 5           # 1 thread each
    python benchmarks/bench_train_torch.py --threads 2 --epochs 5                      # 2 threads each

Prints each epoch's seconds (steps only, and with the evaluation) and the medians.
"""
import argparse
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=5, help="epochs of each, interleaved (default 5)")
parser.add_argument("--threads", type=int, default=1, help="BLAS threads of numpy and PyTorch (default 1)")
parser.add_argument("--no-compile", action="store_true", help="tinygrad_ae's eager step instead")
parser.add_argument("--hidden", type=int, default=128)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--lr", type=float, default=0.003)
args = parser.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))   # before numpy is imported
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tinygrad_ae import Autoencoder  # noqa: E402
from tinygrad_ae.data import iterate_minibatches, load_dataset, train_val_split  # noqa: E402
from tinygrad_ae.training.loop import make_optimizer  # noqa: E402

torch.set_num_threads(args.threads)
SEED, BATCH = 0, args.batch_size

X = load_dataset("fashion-mnist").X
X_train, X_val = train_val_split(X, 0.2, 0)                       # the train job's split
model = Autoencoder(X.shape[1], args.hidden, encoder="sigmoid", decoder="linear", tied=False, loss="mse", seed=SEED)
X_train, X_val = model.check_data(X_train), model.check_data(X_val)
opt = make_optimizer(model, "adam", args.lr)
step = model.training_step(opt, compile=not args.no_compile)
rng_ours = np.random.default_rng(SEED)

net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], args.hidden), torch.nn.Sigmoid(),
                          torch.nn.Linear(args.hidden, X.shape[1]))
with torch.no_grad():
    for layer, ours in ((net[0], model.encoder), (net[2], model.decoder)):
        layer.weight.copy_(torch.from_numpy(ours.weight.data))
        layer.bias.copy_(torch.from_numpy(ours.bias.data))
torch_opt = torch.optim.Adam(net.parameters(), lr=args.lr)
rng_torch = np.random.default_rng(SEED)


def torch_loss(xb):
    return F.mse_loss(net(xb), xb, reduction="sum") * (1.0 / len(xb))


def torch_evaluate(rows):
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(rows), 1024):
            batch = torch.from_numpy(rows[start:start + 1024])
            total += torch_loss(batch).item() * len(batch)
    return total / len(rows)


def ours_epoch():
    started = time.perf_counter()
    model.train_epoch(X_train, opt, BATCH, True, rng_ours, step=step)
    steps = time.perf_counter() - started
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # as fit's epoch
        losses = model.evaluate(X_train), model.evaluate(X_val)
    return steps, time.perf_counter() - started, losses


def torch_epoch():
    started = time.perf_counter()
    for batch in iterate_minibatches(X_train, BATCH, True, rng_torch):
        xb = torch.from_numpy(batch)
        torch_opt.zero_grad()
        loss = torch_loss(xb)
        loss.backward()
        torch_opt.step()
        loss.item()
    steps = time.perf_counter() - started
    losses = torch_evaluate(X_train), torch_evaluate(X_val)
    return steps, time.perf_counter() - started, losses


name = "tinygrad_ae" + (" (eager)" if args.no_compile else " compiled")
runs = {name: ours_epoch, "PyTorch eager": torch_epoch}
times = {who: [] for who in runs}
print(f"fashion-mnist: {len(X_train)} training rows, {len(X_val)} validation rows, k = {args.hidden}, "
      f"batch {BATCH}, Adam lr {args.lr}; {args.threads} BLAS thread(s) each; numpy {np.__version__}, "
      f"torch {torch.__version__}")
for epoch in range(args.epochs):
    order = list(runs) if epoch % 2 == 0 else list(runs)[::-1]        # who goes first alternates
    for who in order:
        steps, total, (train, val) = runs[who]()
        times[who].append((steps, total))
        print(f"epoch {epoch + 1} {who:22s} steps {steps:7.3f} s  epoch {total:7.3f} s  "
              f"train loss {train:.4f}  val loss {val:.4f}", flush=True)
print("medians over epochs:")
for who, values in times.items():
    print(f"  {who:22s} steps {statistics.median(v[0] for v in values):7.3f} s  "
          f"epoch {statistics.median(v[1] for v in values):7.3f} s")
ours, theirs = (statistics.median(v[1] for v in times[w]) for w in runs)
print(f"PyTorch eager / {name}, per epoch: {theirs / ours:.2f}x")
