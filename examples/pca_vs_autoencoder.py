"""The lecture's PCA analogy: a linear autoencoder trained with squared error finds PCA's subspace.

With a linear encoder h = W x + b, a linear decoder x_hat = W* h + c and the squared-error loss,
every reconstruction lies in a k-dimensional affine subspace, so no such network beats the best
rank-k affine fit, which is PCA: the loss is at least the Eckart-Young bound, the sum of the
covariance's eigenvalues after the k-th (reference.pca_bound). Training reaches that bound, and the
decoder's columns then span the top-k principal subspace: the principal
angles between the two subspaces go to 0. The hidden units are not the principal components
themselves, only a basis of the same subspace. A sigmoid encoder with a linear decoder is still
held to the bound, and comes close to it.

Run:  python examples/pca_vs_autoencoder.py   (--quick for a few seconds)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import numpy as np  # noqa: E402

from tinygrad_ae import Autoencoder, data, optim, reference  # noqa: E402


def principal_angles(A, B):
    """Angles in degrees, smallest first, between the column spaces of A and B (n x k each)."""
    Qa, _ = np.linalg.qr(A)
    Qb, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(Qa.T @ Qb, compute_uv=False)     # descending
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def train(X, k, encoder, epochs, seed):
    """A k-unit autoencoder with a linear decoder, Adam with a cosine-decaying step.

    Returns the model and [(epoch, loss on all of X)] at about 30 points along the way."""
    ae = Autoencoder(X.shape[1], k, encoder=encoder, decoder="linear", dtype=np.float64, seed=seed)
    lr = 1e-2
    opt = optim.Adam(ae.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    every = max(1, epochs // 30)
    losses = []
    for epoch in range(epochs):
        # a step that shrinks to 0 lets Adam settle on the minimum instead of hovering around it
        opt.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        ae.train_epoch(X, opt, batch_size=32, rng=rng)
        if (epoch + 1) % every == 0 or epoch + 1 == epochs:
            losses.append((epoch + 1, ae.evaluate(X)))
    return ae, losses


def main(argv=None):
    args = _common.parse_args("pca_vs_autoencoder", __doc__.splitlines()[0], argv)
    k, epochs = 10, (30 if args.quick else 300)
    X, _ = data.load_digits(np.float64)
    X_train, _ = data.train_val_split(X, 0.2, seed=args.seed)
    bound = reference.pca_bound(X_train, k)
    _, components = reference.pca_components(X_train, k)     # (k, n), orthonormal rows
    print(f"digits: {len(X_train)} training rows, n = {X.shape[1]}, k = {k}; {epochs} epochs of Adam")
    print(f"PCA bound (sum of the eigenvalues after the {k}th): {bound:.6f}")

    results = {}
    for encoder in ("linear", "sigmoid"):
        ae, losses = train(X_train, k, encoder, epochs, args.seed)
        results[encoder] = losses
        final = losses[-1][1]
        print(f"\n{encoder} encoder, linear decoder:")
        print(f"  training loss {final:.6f} = {final / bound:.7f} x the PCA bound")
        if encoder != "linear":
            continue
        # (the encoder's rows are not compared: the digits' corner pixels are always 0, so the loss
        # does not see the encoder's weights on them, and those weights stay wherever they started)
        angles = principal_angles(ae.decoder.weight.data, components.T)
        results["angles"] = angles
        print(f"  principal angles between the decoder's columns and PCA's top-{k} subspace: "
              f"largest {angles.max():.3f} degrees")
        units = ae.decoder.weight.data / np.linalg.norm(ae.decoder.weight.data, axis=0)
        best = np.abs(components @ units).max(axis=0)          # each unit's best match among the components
        print(f"  yet each hidden unit is a mix of components: best |cosine| per unit "
              f"{best.min():.2f} .. {best.max():.2f} (1 would be a principal component)")
        results["units"] = units.T

    plt = _common.pyplot()
    if plt is None:
        _common.skip_plots("the loss and principal-angle plot")
        return 0
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for encoder in ("linear", "sigmoid"):
        epoch, loss = np.array(results[encoder]).T
        left.plot(epoch, loss / bound - 1, marker=".", label=f"{encoder} encoder")
    left.set_yscale("log")
    left.set(xlabel="epoch", ylabel="loss / PCA bound - 1", title="how far above the PCA bound (never below)")
    left.legend()
    right.bar(np.arange(1, k + 1), results["angles"])
    right.set(xlabel="principal angle #", ylabel="degrees",
              title=f"decoder columns W* vs PCA's top-{k} subspace")
    fig.tight_layout()
    _common.save_figure(fig, args.out / "pca_vs_autoencoder.png")
    fig = _common.image_grid(plt, [components, results["units"]], (8, 8),
                             ["PCA components", "decoder columns"],
                             "same subspace, different basis", signed=True)
    _common.save_figure(fig, args.out / "components.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
