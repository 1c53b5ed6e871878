"""The lecture's two cases side by side on the embedded 8x8 digits.

    binary inputs x in {0, 1}^n:  logistic decoder  x_hat = sigmoid(W* h + c)  and cross-entropy
                                  L = -(1/m) sum_i sum_j (x_ij log x_hat_ij + (1 - x_ij) log(1 - x_hat_ij))
    real inputs x in R^n:         linear decoder    x_hat = W* h + c           and squared error
                                  L =  (1/m) sum_i sum_j (x_hat_ij - x_ij)^2

The logistic decoder's outputs are probabilities, which is what cross-entropy compares with 0/1
targets; the linear decoder can produce any real value, which squared error measures directly.
Both use the lecture's sigmoid encoder h = sigmoid(W x + b).

Run:  python examples/binary_vs_real_inputs.py   (--quick for a few seconds)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import numpy as np  # noqa: E402

from tinygrad_ae import Autoencoder, Tensor, data, no_grad  # noqa: E402


def reconstruct(ae, X):
    with no_grad():
        return ae.forward(Tensor(X)).data


def main(argv=None):
    args = _common.parse_args("binary_vs_real_inputs", __doc__.splitlines()[0], argv)
    epochs, hidden = (4, 16) if args.quick else (100, 16)
    X, _ = data.load_digits()
    X_train, X_val = data.train_val_split(X, 0.2, seed=args.seed)
    cases = {
        # name: (training data, validation data, decoder); the loss follows the decoder, as in the lecture
        "binary": ((X_train > 0.5).astype(np.float32), (X_val > 0.5).astype(np.float32), "sigmoid"),
        "real": (X_train, X_val, "linear"),
    }
    print(f"digits: {len(X_train)} training and {len(X_val)} validation rows of n = {X.shape[1]} pixels; "
          f"k = {hidden} hidden units, {epochs} epochs of Adam")
    results = {}
    for name, (train, val, decoder) in cases.items():
        ae = Autoencoder(X.shape[1], hidden, encoder="sigmoid", decoder=decoder, seed=args.seed)
        history = ae.fit(train, epochs=epochs, batch_size=64, lr=1e-2, seed=args.seed, X_val=val)
        x_hat = reconstruct(ae, val)
        results[name] = (val, x_hat)
        loss_name = "cross-entropy" if ae.loss_name == "bce" else "squared error"
        squared = np.sum((x_hat - val) ** 2) / len(val)
        print(f"\n{name} inputs: decoder {decoder}, loss {loss_name}")
        print(f"  validation loss ({loss_name}, per example): {history['val'][-1]:.4f}")
        print(f"  validation squared error per example:      {squared:.4f}")
        print(f"  reconstructions range over [{x_hat.min():.4g}, {x_hat.max():.4g}]")
        if name == "binary":
            wrong = np.mean((x_hat > 0.5) != (val > 0.5))
            print(f"  pixels wrong after thresholding x_hat at 0.5: {100 * wrong:.2f}%")
    print("\nThe logistic decoder stays inside (0, 1), as probabilities must; "
          "the linear one is free to leave [0, 1].")

    plt = _common.pyplot()
    if plt is None:
        _common.skip_plots("the reconstructions picture")
        return 0
    show = slice(0, 10)
    rows = [results["binary"][0][show], results["binary"][1][show], results["real"][0][show],
            np.clip(results["real"][1][show], 0, 1)]
    fig = _common.image_grid(plt, rows, (8, 8), ["binary x", "sigmoid + CE", "real x", "linear + SE"],
                             "validation digits and their reconstructions")
    _common.save_figure(fig, args.out / "reconstructions.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
