"""The lecture's autoencoder, built from the framework's own layers.

    encoder   h     = g(W x + b)        W: (k, n)  = ae.encoder.weight,  b = ae.encoder.bias
    decoder   x_hat = f(W* h + c)       W*: (n, k) = ae.decoder.weight,  c = ae.decoder.bias
                                        tied=True: W* = W^T, and there is no decoder.weight

Rows of a batch X (m, n) are the examples x_i, so in code a1 = X @ W.T + b and a2 = h @ W*.T + c.
The loss is in the lecture's normalization: summed over the n features, averaged over the m examples.
Squared error goes with a linear (or tanh) decoder for real inputs; cross-entropy goes with the
logistic decoder for binary inputs and is computed from the logits a2, so it never takes log(0).
"""
import numpy as np

from . import functional as F
from . import nn, optim
from .data import iterate_minibatches, validate_rows
from .tensor import Tensor, no_grad

ENCODERS = ("sigmoid", "tanh", "relu", "linear")
DECODERS = ("linear", "sigmoid", "tanh")
LOSSES = ("mse", "bce")
OPTIMIZERS = ("adam", "sgd")


def _activate(name, a):
    return a if name == "linear" else getattr(a, name)()


def _choice(what, value, allowed):
    if value not in allowed:
        raise ValueError(f"Autoencoder: {what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


class Autoencoder(nn.Module):
    """h = g(W x + b), x_hat = f(W* h + c), trained to reconstruct its input."""

    def __init__(self, n_inputs, n_hidden, encoder="sigmoid", decoder="linear", tied=False,
                 loss=None, dtype=np.float32, seed=None):
        self.encoder_activation = _choice("encoder", encoder, ENCODERS)
        self.decoder_activation = _choice("decoder", decoder, DECODERS)
        if loss is None:  # the lecture's pairing: logistic decoder <-> cross-entropy, otherwise squared error
            loss = "bce" if decoder == "sigmoid" else "mse"
        self.loss_name = _choice("loss", loss, LOSSES)
        if loss == "bce" and decoder != "sigmoid":
            raise ValueError(f"Autoencoder: cross-entropy needs the logistic decoder (decoder='sigmoid'), "
                             f"got decoder={decoder!r}: its outputs are not probabilities. Use loss='mse', "
                             "or decoder='sigmoid' for binary inputs")
        self.tied = bool(tied)
        rng = np.random.default_rng(seed)
        self.encoder = nn.Linear(n_inputs, n_hidden, dtype=dtype, rng=rng)
        self.decoder = nn.Linear(n_hidden, n_inputs, dtype=dtype, rng=rng)
        if self.tied:
            # W* = W^T: the decoder keeps only its bias c; decode() multiplies by the encoder's W
            self.decoder.weight = None
        for tensor, name in ((self.encoder.weight, "W"), (self.encoder.bias, "b"),
                             (self.decoder.weight, "W*"), (self.decoder.bias, "c")):
            if tensor is not None:
                tensor.name = name
        self.n_inputs, self.n_hidden = int(n_inputs), int(n_hidden)
        self.dtype = np.dtype(dtype)

    @property
    def is_undercomplete(self):
        """dim h < dim x: the network must compress (the lecture's under-complete case)."""
        return self.n_hidden < self.n_inputs

    def __repr__(self):
        return (f"Autoencoder(n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, "
                f"encoder={self.encoder_activation!r}, decoder={self.decoder_activation!r}, "
                f"tied={self.tied}, loss={self.loss_name!r}, dtype={self.dtype})")

    # ----- the forward pass, in the lecture's names -------------------------------------------
    def _as_input(self, x):
        if isinstance(x, Tensor):
            return x
        return Tensor(validate_rows(x, self.n_inputs, "x").astype(self.dtype, copy=False))

    def encode(self, x):
        """h = g(W x + b) for every row of x."""
        # F.linear directly: nn.Linear's call adds a layer of checks to the hot path (a wrong width
        # still gets F.linear's message naming both shapes)
        a1 = F.linear(self._as_input(x), self.encoder.weight, self.encoder.bias)
        a1.name = "a1"
        h = _activate(self.encoder_activation, a1)
        h.name = "h"
        return h

    def decode_logits(self, h):
        """a2 = W* h + c, the decoder's pre-activation."""
        if self.tied:
            a2 = h @ self.encoder.weight + self.decoder.bias
        else:
            a2 = F.linear(h, self.decoder.weight, self.decoder.bias)
        a2.name = "a2"
        return a2

    def decode(self, h):
        """x_hat = f(W* h + c)."""
        x_hat = _activate(self.decoder_activation, self.decode_logits(h))
        x_hat.name = "x_hat"
        return x_hat

    def forward(self, x):
        """The reconstruction x_hat of x."""
        return self.decode(self.encode(x))

    def loss(self, x):
        """The lecture's objective on a batch: summed over features, averaged over examples."""
        x = self._as_input(x)
        if self.loss_name == "bce":
            _check_probabilities(x.data)
        return self._loss(x)

    def _loss(self, x):
        """loss() without the check of x, for data that check_data() has already passed."""
        if self.loss_name == "bce":
            value = F.binary_cross_entropy_with_logits(self.decode_logits(self.encode(x)), x,
                                                       reduction="batchmean")
        else:
            value = F.mse_loss(self.forward(x), x, reduction="batchmean")
        value.name = "L"
        return value

    # ----- training ---------------------------------------------------------------------------
    def evaluate(self, X, batch_size=1024):
        """The loss on all of X (lecture normalization), without building a graph."""
        X = self.check_data(X)
        total = 0.0
        with no_grad():
            for start in range(0, len(X), batch_size):
                batch = X[start:start + batch_size]
                total += self._loss(Tensor(batch)).item() * len(batch)
        return total / len(X)

    def check_data(self, X, what="X"):
        """X as an array of this model's dtype, or a ValueError that says what is wrong with it."""
        X = validate_rows(X, self.n_inputs, what).astype(self.dtype, copy=False)
        if self.loss_name == "bce":
            _check_probabilities(X, what)
        return X

    def make_optimizer(self, optimizer="adam", lr=1e-3):
        """An optimizer over this model's parameters: "adam", "sgd", or an Optimizer passed through."""
        if isinstance(optimizer, optim.Optimizer):
            return optimizer
        kind = _choice("optimizer", optimizer, OPTIMIZERS)
        return optim.Adam(self.parameters(), lr=lr) if kind == "adam" else optim.SGD(self.parameters(), lr=lr)

    def train_epoch(self, X, optimizer, batch_size=64, shuffle=True, rng=None, on_batch=None):
        """One pass over X in minibatches; returns the mean of the batch losses (weighted by size).
        X must be what check_data() returned: batches are not checked again, step after step.

        on_batch(batch_index, batch_loss) is called after each step (e.g. for a progress bar)."""
        total = 0.0
        for i, batch in enumerate(iterate_minibatches(X, batch_size, shuffle, rng)):
            optimizer.zero_grad()
            loss = self._loss(Tensor(batch))     # X was checked once, not every batch
            loss.backward()
            optimizer.step()
            value = loss.item()
            total += value * len(batch)
            if on_batch is not None:
                on_batch(i, value)
        return total / len(X)

    def fit(self, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
            X_val=None, callback=None):
        """Minibatch training. Returns {"train": [...], "val": [...]} with one loss per epoch, each the
        loss on the whole set after that epoch. callback(epoch, history) runs after every epoch and
        may return False to stop early. A loss that becomes NaN or inf raises FloatingPointError."""
        X = self.check_data(X)
        X_val = None if X_val is None else self.check_data(X_val, "X_val")
        opt = self.make_optimizer(optimizer, lr)
        rng = np.random.default_rng(seed)
        history = {"train": [], "val": []}
        for epoch in range(epochs):
            # a diverging run overflows on its way to inf/nan: that is reported below, once, in
            # words, instead of as a stream of numpy RuntimeWarnings
            with np.errstate(over="ignore", invalid="ignore"):
                self.train_epoch(X, opt, batch_size, shuffle, rng)
                history["train"].append(self.evaluate(X))
                if X_val is not None:
                    history["val"].append(self.evaluate(X_val))
            if not np.isfinite(history["train"][-1]):
                raise FloatingPointError(
                    f"the training loss became {history['train'][-1]} in epoch {epoch + 1}: training diverged; "
                    f"try a lower learning rate than lr={lr}")
            if callback is not None and callback(epoch, history) is False:
                break
        return history


def _check_probabilities(X, what="x"):
    if X.min() < 0 or X.max() > 1:
        raise ValueError(f"{what}: cross-entropy needs targets in [0, 1] (the lecture's binary inputs), "
                         f"got values in [{X.min():.4g}, {X.max():.4g}]; scale the data to [0, 1] or "
                         "use loss='mse' with a linear decoder")
