"""From tinygrad_ae to PyTorch: a model trained here, loaded into torch.nn.Linear layers by its state dict.

The state dict's names and shapes are PyTorch's (encoder.weight (k, n), encoder.bias (k,), decoder.weight
(n, k), decoder.bias (n,)), so a torch.nn.Module with two Linear layers called `encoder` and `decoder`
takes it as it is: torch.from_numpy on each array, then load_state_dict. A tied model saves no
decoder.weight; PyTorch's untied layers get W^T for it. Both models then reconstruct the same rows, here
in float64, to far better than 1e-6.

Needs PyTorch (pip install torch). Run:  python examples/to_pytorch.py   (--quick for a few seconds)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (before numpy: it sets the BLAS thread count)

import numpy as np  # noqa: E402

import tinygrad_ae as tg  # noqa: E402

TOLERANCE = 1e-6


def train_here(args):
    """An autoencoder trained on the digits with tinygrad_ae, in float64; returns (model, validation rows)."""
    X, _ = tg.data.load_digits(np.float64)
    X_train, X_val = tg.data.train_val_split(X, 0.2, seed=args.seed)
    ae = tg.Autoencoder(X.shape[1], 16, encoder="sigmoid", decoder="linear", dtype=np.float64, seed=args.seed)
    epochs = 3 if args.quick else 30
    history = ae.fit(X_train, epochs=epochs, batch_size=32, lr=3e-3, seed=args.seed, X_val=X_val)
    print(f"trained {ae!r} here for {epochs} epochs: validation loss {history['val'][-1]:.4f}")
    return ae, X_val


def torch_autoencoder(torch, ae):
    """The same network written in PyTorch: two torch.nn.Linear layers and the same activations."""
    activation = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}

    class TorchAutoencoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Linear(ae.n_inputs, ae.n_hidden, dtype=torch.float64)
            self.decoder = torch.nn.Linear(ae.n_hidden, ae.n_inputs, dtype=torch.float64)

        def forward(self, x):
            h = activation[ae.encoder_activation](self.encoder(x))
            return activation[ae.decoder_activation](self.decoder(h))

    return TorchAutoencoder()


def main(argv=None):
    args = _common.parse_args("to_pytorch", __doc__.splitlines()[0], argv)
    try:
        import torch
    except ImportError:
        print("to_pytorch: this example needs PyTorch, which is not installed: pip install torch", file=sys.stderr)
        return 2
    ae, X_val = train_here(args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "model.npz"
    tg.save(ae.state_dict(), path)
    print(f"wrote {path}: {', '.join(f'{k} {v.shape}' for k, v in ae.state_dict().items())}")

    state = tg.load(path)                                      # plain arrays, read without pickle
    if "decoder.weight" not in state:                          # a tied model: W* = W^T
        state["decoder.weight"] = state["encoder.weight"].T.copy()
    model = torch_autoencoder(torch, ae)
    model.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()})
    model.eval()
    with torch.no_grad():
        theirs = model(torch.from_numpy(X_val)).numpy()
    with tg.no_grad():
        ours = ae(X_val).numpy()
    difference = float(np.max(np.abs(theirs - ours)))
    print(f"PyTorch reconstructs the {len(X_val)} validation rows as tinygrad_ae does: "
          f"largest difference {difference:.3g} (tolerance {TOLERANCE:g})")
    if not difference <= TOLERANCE:
        print("to_pytorch: the reconstructions differ by more than the tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
