"""The variational autoencoder of pytorch/examples (vae/main.py) on Fashion-MNIST, here and in PyTorch.

The same network, 784-400-20 (ReLU hidden layers, a Gaussian code, a Bernoulli decoder), the same initial
weights (tg.VAE's state dict loaded into the PyTorch module), the same batches in the same order (one numpy
shuffle for both), Adam with lr 1e-3, batch 128; only the draws of eps differ (each framework's own RNG).
After each epoch: the test negative ELBO (nats per image, one draw of z per image), and the seconds of that
epoch's training pass alone (the optimizer steps, not the evaluation). Both run on one BLAS thread (and
torch.set_num_threads(1)), side by side in one process, tinygrad_ae first.

Run:  python examples/vae_fashion_mnist.py --epochs 10         (needs Debian's dataset-fashion-mnist)
      python examples/vae_fashion_mnist.py --quick             (the embedded 8x8 digits, 2 epochs, seconds)
Results go to <out>/vae_fashion_mnist.json.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_ae as tg  # noqa: E402
from tinygrad_ae import data  # noqa: E402
from tinygrad_ae.training import loop  # noqa: E402

HIDDEN, LATENT, LR, BATCH = 400, 20, 1e-3, 128


def load(quick):
    """(X_train, X_test, name): Fashion-MNIST's official split, or with --quick the digits split 80/20."""
    if quick:
        X = data.load_digits()[0]
        X_train, X_test = data.train_val_split(X, 0.2, 0)
        return X_train, X_test, "digits (8x8, 80/20 split)"
    return data.load_fashion_mnist()[0], data.load_fashion_mnist(split="test")[0], "Fashion-MNIST"


def batch_orders(n, epochs, seed):
    """The row order of every epoch, shared by both frameworks."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def run_tinygrad(vae, X_train, X_test, orders):
    """[(seconds of the training pass, test negative ELBO)] per epoch, through the library's loop."""
    opt = tg.optim.Adam(vae.parameters(), lr=LR)
    step = vae.training_step(opt)                    # a tg.compile step, as fit uses
    X_train, X_test = vae.check_data(X_train), vae.check_data(X_test)
    results = []
    for order in orders:
        started = time.perf_counter()
        loop.train_epoch(vae, X_train[order], opt, BATCH, shuffle=False, step=step)
        seconds = time.perf_counter() - started
        results.append((seconds, vae.evaluate(X_test)))
    return results


def run_torch(state, X_train, X_test, orders, seed):
    """The same as run_tinygrad in PyTorch, from the same initial state dict; None without torch."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(seed)

    class VAE(torch.nn.Module):                    # pytorch/examples vae/main.py, sizes as parameters
        def __init__(self, n):
            super().__init__()
            self.fc1 = torch.nn.Linear(n, HIDDEN)
            self.fc21 = torch.nn.Linear(HIDDEN, LATENT)
            self.fc22 = torch.nn.Linear(HIDDEN, LATENT)
            self.fc3 = torch.nn.Linear(LATENT, HIDDEN)
            self.fc4 = torch.nn.Linear(HIDDEN, n)

        def forward(self, x):
            h1 = F.relu(self.fc1(x))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.fc4(F.relu(self.fc3(z))), mu, logvar

    def loss_function(x, logits, mu, logvar):      # the example's, from the logits, as a mean over rows
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (bce + kld) / len(x)

    model = VAE(X_train.shape[1])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    train, test = torch.from_numpy(X_train), torch.from_numpy(X_test)
    results = []
    for order in orders:
        started = time.perf_counter()
        shuffled = train[torch.from_numpy(order)]
        for start in range(0, len(shuffled), BATCH):
            x = shuffled[start:start + BATCH]
            opt.zero_grad()
            loss = loss_function(x, *model(x))
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - started
        with torch.no_grad():
            total = sum(loss_function(x, *model(x)).item() * len(x) for x in torch.split(test, 1024))
        results.append((seconds, total / len(test)))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the digits, 2 epochs: a few seconds")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each framework (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order (default 0)")
    parser.add_argument("--out", default=os.path.join("runs", "examples", "vae_fashion_mnist"))
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else args.epochs
    X_train, X_test, name = load(args.quick)
    X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
    vae = tg.VAE(X_train.shape[1], HIDDEN, LATENT, seed=args.seed)
    state = vae.state_dict()                        # copies: the starting point of both runs
    orders = batch_orders(len(X_train), epochs, args.seed)
    print(f"{name}: {len(X_train)} training rows, {len(X_test)} test rows; VAE {X_train.shape[1]}-{HIDDEN}-{LATENT}, "
          f"Adam lr {LR:g}, batch {BATCH}, {epochs} epochs, the same initial weights and batches")
    ours = run_tinygrad(vae, X_train, X_test, orders)
    theirs = run_torch(state, X_train, X_test, orders, args.seed)
    print("epoch  tinygrad_ae: test -ELBO  seconds   PyTorch: test -ELBO  seconds")
    for epoch, (a, b) in enumerate(zip(ours, theirs or [(None, None)] * epochs), 1):
        torch_text = "   (torch is not installed)" if b[0] is None else f"   {b[1]:18.3f}  {b[0]:7.2f}"
        print(f"{epoch:5d}  {a[1]:23.3f}  {a[0]:7.2f}{torch_text}")
    print(f"final test negative ELBO: tinygrad_ae {ours[-1][1]:.3f}"
          + ("" if theirs is None else f", PyTorch {theirs[-1][1]:.3f}")
          + f"; mean epoch seconds: tinygrad_ae {np.mean([a for a, _ in ours]):.2f}"
          + ("" if theirs is None else f", PyTorch {np.mean([a for a, _ in theirs]):.2f}"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"data": name, "epochs": epochs, "hidden": HIDDEN, "latent": LATENT, "lr": LR, "batch": BATCH,
              "tinygrad_ae": [{"seconds": s, "test_neg_elbo": v} for s, v in ours],
              "pytorch": None if theirs is None else [{"seconds": s, "test_neg_elbo": v} for s, v in theirs]}
    (out / "vae_fashion_mnist.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out / 'vae_fashion_mnist.json'}")


if __name__ == "__main__":
    main()
