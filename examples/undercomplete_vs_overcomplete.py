"""Under-complete vs over-complete: what happens as the hidden layer k grows past the input size n.

The lecture: with dim h < dim x (under-complete) the network must compress, so it has to learn
what the data have in common; with dim h >= dim x (over-complete) nothing stops it from learning
to copy its input, x_hat = x, which reconstructs perfectly and learns nothing about the data.

Here the lecture's autoencoder (sigmoid encoder, linear decoder, squared error) is trained on the
8x8 digits (n = 64) for several k, and three things are measured on held-out data:
  * the reconstruction loss, which keeps falling as k grows, towards 0 past n;
  * the error on random images (noise on the pixels digits use), relative to the noise's variance:
    an under-complete network turns noise into digit-like strokes (error > 1), a copying network
    reconstructs noise too (error -> 0);
  * the "pass-through", the mean diagonal of the Jacobian d x_hat / d x: 1 means every pixel
    goes straight through to itself, the signature of the identity map.
The plots show these against k, and the hidden units' input weights (what each unit responds to).

Run:  python examples/undercomplete_vs_overcomplete.py   (--quick for a few seconds)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import numpy as np  # noqa: E402

from tinygrad_ae import Autoencoder, Tensor, data, no_grad, optim, reference  # noqa: E402


def train(X, k, epochs, seed):
    """The lecture's autoencoder with k hidden units, Adam with a cosine-decaying step."""
    ae = Autoencoder(X.shape[1], k, encoder="sigmoid", decoder="linear", seed=seed)
    lr = 1e-2
    opt = optim.Adam(ae.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        opt.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        ae.train_epoch(X, opt, batch_size=64, rng=rng)
    return ae


def pass_through(ae, X, pixels):
    """Mean diagonal of d x_hat / d x over the given pixels, averaged over the rows of X.

    For one example d x_hat / d x = W* diag(h (1 - h)) W; averaging over examples averages h (1 - h)."""
    with no_grad():
        h = ae.encode(Tensor(X)).data
    slope = (h * (1 - h)).mean(axis=0)                              # (k,)
    W, W_star = ae.encoder.weight.data, ae.decoder.weight.data      # (k, n), (n, k)
    diagonal = np.einsum("ju,u,uj->j", W_star, slope, W)
    return float(diagonal[pixels].mean())


def noise_error(ae, noise):
    """Squared reconstruction error on noise images, relative to the noise's own variance."""
    with no_grad():
        x_hat = ae.forward(Tensor(noise)).data
    return float(np.sum((x_hat - noise) ** 2) / np.sum((noise - noise.mean(axis=0)) ** 2))


def main(argv=None):
    args = _common.parse_args("undercomplete_vs_overcomplete", __doc__.splitlines()[0], argv)
    ks, epochs = ([8, 64, 128], 15) if args.quick else ([4, 16, 32, 64, 128, 256], 200)
    X, _ = data.load_digits()
    X_train, X_val = data.train_val_split(X, 0.2, seed=args.seed)
    n = X.shape[1]
    used = X_train.std(axis=0) > 0          # a few corner pixels are 0 in every digit: nothing to learn there
    noise = np.random.default_rng(args.seed + 1).random((500, n)).astype(np.float32) * used
    print(f"digits: n = {n} pixels ({used.sum()} ever non-zero), {len(X_train)} training rows; "
          f"{epochs} epochs of Adam per k")
    print(f"{'k':>5}  {'':15}{'val loss':>10}{'PCA bound':>11}{'noise error':>13}{'pass-through':>14}")
    rows, models = [], {}
    for k in ks:
        ae = train(X_train, k, epochs, args.seed)
        models[k] = ae
        kind = "under-complete" if ae.is_undercomplete else "over-complete"
        bound = reference.pca_bound(X_train, k) if k <= n else 0.0
        row = (k, ae.evaluate(X_val), bound, noise_error(ae, noise), pass_through(ae, X_val, used))
        rows.append(row)
        print(f"{k:>5}  {kind:15}{row[1]:>10.4f}{row[2]:>11.4f}{row[3]:>13.3f}{row[4]:>14.3f}")
    print("(PCA bound: the best any k-unit network with a linear decoder can do on the training data; "
          "noise error > 1: noise comes out as digit-like strokes; pass-through -> 1: copying)")

    plt = _common.pyplot()
    if plt is None:
        _common.skip_plots("the plots of loss, noise error and pass-through against k, and the filters picture")
        return 0
    k_values, val_loss, bounds, noise_errors, passes = (np.array(column) for column in zip(*rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(k_values, val_loss, marker="o", label="validation loss")
    inside = k_values < n
    left.plot(k_values[inside], bounds[inside], marker="x", linestyle="--", label="PCA bound (training data)")
    left.axvline(n, color="grey", linestyle=":", label=f"k = n = {n}")
    left.set(xscale="log", yscale="log", xlabel="hidden units k", ylabel="loss per example",
             title="reconstruction keeps improving with k")
    left.legend(fontsize=8)
    right.plot(k_values, noise_errors, marker="o", label="error on noise images (relative)")
    right.plot(k_values, passes, marker="s", label="pass-through (mean diag of dx_hat/dx)")
    right.axvline(n, color="grey", linestyle=":")
    right.axhline(1, color="k", linewidth=0.5)
    right.set(xscale="log", xlabel="hidden units k", title="drifting toward copying the input")
    right.legend(fontsize=8)
    fig.tight_layout()
    _common.save_figure(fig, args.out / "undercomplete_vs_overcomplete.png")
    small, large = ks[1] if len(ks) > 3 else ks[0], ks[-1]
    # each weight times its pixel's spread in the data: the effect it has on the unit. (Raw weights are
    # dominated by edge pixels that are almost always 0: they barely matter, and Adam moves them freely.)
    spread = X_train.std(axis=0)
    filters = [models[k].encoder.weight.data[:16] * spread for k in (small, large)]
    fig = _common.image_grid(plt, filters, (8, 8), [f"k = {small}", f"k = {large}"],
                             "input weights x pixel spread, first 16 hidden units (red +, blue -)", signed=True)
    _common.save_figure(fig, args.out / "filters.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
