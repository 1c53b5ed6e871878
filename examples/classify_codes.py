"""How much of the digits' identity survives in 16 numbers? A softmax classifier, trained with
F.cross_entropy, on the raw pixels (64 numbers), on PCA codes (k = 16) and on the codes h = g(W x + b)
of the lecture's autoencoder (k = 16), each scored on the same held-out rows.

The autoencoder never sees a label: its codes are learned only to reconstruct. A classifier on top
of them tells how much of what it kept is what tells one digit from another.

Run:  python examples/classify_codes.py   (--quick for a few seconds)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import numpy as np  # noqa: E402

import tinygrad_ae as tg  # noqa: E402
import tinygrad_ae.functional as F  # noqa: E402
from tinygrad_ae import Tensor, data, nn, optim, reference  # noqa: E402


def standardize(train, test):
    """Zero mean and unit variance per feature, with the training rows' statistics."""
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    return (train - mean) / std, (test - mean) / std


def softmax_classifier(X_train, y_train, X_test, y_test, epochs, seed):
    """A linear layer into 10 logits, trained on F.cross_entropy with Adam; returns test accuracy."""
    rng = np.random.default_rng(seed)
    model = nn.Linear(X_train.shape[1], 10, dtype=np.float64, rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    X = Tensor(X_train)
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), 64):
            rows = order[start:start + 64]
            loss = F.cross_entropy(model(X[rows]), y_train[rows])   # a Tensor indexed by an int array
            opt.zero_grad()
            loss.backward()
            opt.step()
    with tg.no_grad():
        predicted = model(Tensor(X_test)).argmax(dim=1)        # an int64 tensor, as torch's
    return (predicted == tg.tensor(y_test)).double().mean().item()


def main(argv=None):
    args = _common.parse_args("classify_codes", __doc__.splitlines()[0], argv)
    k = 16
    epochs, ae_epochs = (15, 40) if args.quick else (60, 300)
    X, labels = data.load_digits(np.float64)
    order = np.random.default_rng(args.seed).permutation(len(X))
    test, train = order[:len(X) // 5], order[len(X) // 5:]
    print(f"digits: {len(train)} training rows, {len(test)} held-out rows; "
          f"classifier: {epochs} epochs of Adam on F.cross_entropy")

    mean, components = reference.pca_components(X[train], k)
    ae = tg.Autoencoder(X.shape[1], k, dtype=np.float64, seed=args.seed)
    ae.fit(X[train], epochs=ae_epochs, batch_size=32, lr=1e-2, seed=args.seed)
    with tg.no_grad():
        codes = ae.encode(X).data
    features = {
        "raw pixels (64 numbers)": X,
        f"PCA codes (k = {k})": (X - mean) @ components.T,
        f"autoencoder codes (k = {k}, sigmoid encoder, {ae_epochs} epochs)": codes,
    }
    print("test accuracy on the same held-out rows:")
    for name, Z in features.items():
        Z_train, Z_test = standardize(Z[train], Z[test])
        accuracy = softmax_classifier(Z_train, labels[train], Z_test, labels[test], epochs, args.seed)
        print(f"  {name:<55} {accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
