"""The lecture's autoencoder, built from the framework's own layers.

    encoder   h     = g(W x + b)        W: (k, n)  = ae.encoder.weight,  b = ae.encoder.bias
    decoder   x_hat = f(W* h + c)       W*: (n, k) = ae.decoder.weight,  c = ae.decoder.bias
                                        tied=True: W* = W^T, ae.decoder is an nn.TiedLinear whose
                                        only parameter is c (ae.decoder.weight reads W.T)

Rows of a batch X (m, n) are the examples x_i, so in code a1 = X @ W.T + b and a2 = h @ W*.T + c.
The loss is in the lecture's normalization: summed over the n features, averaged over the m examples.
Squared error goes with a linear (or tanh) decoder for real inputs; cross-entropy goes with the
logistic decoder for binary inputs and is computed from the logits a2, so it never takes log(0).
"""
import math
import time

import numpy as np

from . import functional as F
from . import capture, nn, optim
from .choices import DECODERS, ENCODERS, LOSSES, OPTIMIZERS, check, pair   # noqa: F401  (re-exported)
from .data import iterate_minibatches, validate_rows
from .tensor import Tensor, no_grad


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or inf while training: the learning rate is too high for the model.

    A FloatingPointError, so `except FloatingPointError` catches it. epoch and batch count from 1
    (batch None: the loss on the whole training set after that epoch); lr is the learning rate used."""

    def __init__(self, loss, epoch, batch=None, lr=None):
        where = f"in epoch {epoch} (batch {batch})" if batch is not None else f"after epoch {epoch}"
        rate = "" if lr is None else f" {lr:g}"
        super().__init__(f"training diverged: the loss became {loss} {where}; the learning rate{rate} is too "
                         "high for this model: try a lower learning rate")
        self.loss, self.epoch, self.batch, self.lr = loss, epoch, batch, lr


def _activate(name, a):
    return a if name == "linear" else getattr(a, name)()


class Autoencoder(nn.Module):
    """h = g(W x + b), x_hat = f(W* h + c), trained to reconstruct its input."""

    def __init__(self, n_inputs, n_hidden, encoder="sigmoid", decoder="linear", tied=False,
                 loss=None, dtype=np.float32, seed=None):
        self.encoder_activation = check("encoder", encoder, ENCODERS)
        self.decoder_activation = check("decoder", decoder, DECODERS)
        self.loss_name = pair(decoder, loss)   # the lecture's pairing: logistic decoder <-> cross-entropy
        self.tied = bool(tied)
        rng = np.random.default_rng(seed)
        self.encoder = nn.Linear(n_inputs, n_hidden, dtype=dtype, rng=rng)
        if self.tied:   # W* = W^T: the decoder's only parameter is its bias c; it multiplies by the encoder's W
            self.decoder = nn.TiedLinear(self.encoder)
        else:
            self.decoder = nn.Linear(n_hidden, n_inputs, dtype=dtype, rng=rng)
        params = (("W", self.encoder.weight), ("b", self.encoder.bias), ("c", self.decoder.bias))
        for name, tensor in params + (() if self.tied else (("W*", self.decoder.weight),)):
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
        a1 = self.encoder(self._as_input(x))
        a1.name = "a1"
        h = _activate(self.encoder_activation, a1)
        h.name = "h"
        return h

    def decode_logits(self, h):
        """a2 = W* h + c, the decoder's pre-activation."""
        a2 = self.decoder(h)          # nn.Linear, or nn.TiedLinear: h @ W + c
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
        kind = check("optimizer", optimizer, OPTIMIZERS)
        return optim.Adam(self.parameters(), lr=lr) if kind == "adam" else optim.SGD(self.parameters(), lr=lr)

    def training_step(self, optimizer, compile=True):
        """step(x): one optimizer step on the batch Tensor x (zero_grad, loss, backward, step), returning
        the loss. X must be what check_data() returned: batches are not checked again, step after step.
        compile=True makes it a tg.compile step: eager at its first call, captured at the next two, then
        replayed as a planned numpy program with bit for bit the same results; the last, smaller batch
        of an epoch gets a program of its own."""
        def step(x):
            optimizer.zero_grad()
            loss = self._loss(x)
            loss.backward()
            optimizer.step()
            return loss
        return capture.compile(step) if compile else step

    def train_epoch(self, X, optimizer, batch_size=64, shuffle=True, rng=None, on_batch=None, step=None):
        """One pass over X in minibatches; returns the mean of the batch losses (weighted by size).
        X must be what check_data() returned: batches are not checked again, step after step.

        on_batch(batch_index, batch_loss) is called after each step (e.g. for a progress bar).
        step: a training_step(optimizer) to use (fit passes one compiled step for all epochs);
        by default an eager one."""
        if step is None:
            step = self.training_step(optimizer, compile=False)
        total = 0.0
        for i, batch in enumerate(iterate_minibatches(X, batch_size, shuffle, rng)):
            loss = step(Tensor(batch))
            value = loss.item()
            total += value * len(batch)
            if on_batch is not None:
                on_batch(i, value)
        return total / len(X)

    def fit(self, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
            X_val=None, callback=None, *, on_step=None, history=None, compile=True):
        """Minibatch training: the package's one training loop (the `train` job runs it too).

        Returns the history {"train": [...], "val": [...], "seconds": [...]}: after each epoch, the loss on
        the whole training set, on X_val (stays empty without X_val), and the epoch's wall time.

        optimizer: "adam", "sgd", or an Optimizer (then lr is not used). seed: None, an int, or a
        np.random.Generator, used as is, so its state goes on (how a resumed run keeps its shuffle order).
        history: a history to continue; its lists grow in place, and `epochs` more epochs are run.
        Hooks, each with the 0-based epoch index (counting the epochs of `history` given):
          on_step(epoch, batch_index, batch_loss) after every optimizer step (e.g. a progress bar);
          callback(epoch, history) after every epoch; returning False stops early.
        compile: run the steps through tg.compile (see training_step); False runs them eagerly, with
        bit for bit the same results.
        A loss that becomes NaN or inf raises TrainingDiverged (a FloatingPointError) at once;
        KeyboardInterrupt goes through, leaving the model as it is after the last step."""
        X = self.check_data(X)
        X_val = None if X_val is None else self.check_data(X_val, "X_val")
        opt = self.make_optimizer(optimizer, lr)
        lr = getattr(opt, "lr", lr)
        rng = np.random.default_rng(seed)
        step = self.training_step(opt, compile)
        if history is None:
            history = {"train": [], "val": [], "seconds": []}
        for _ in range(epochs):
            epoch, started = len(history["train"]), time.perf_counter()

            def after_step(i, loss):
                if on_step is not None:
                    on_step(epoch, i, loss)
                if not math.isfinite(loss):
                    raise TrainingDiverged(loss, epoch + 1, i + 1, lr)

            # a diverging run overflows on its way to inf/nan: that is reported once, in words,
            # instead of as a stream of numpy RuntimeWarnings
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self.train_epoch(X, opt, batch_size, shuffle, rng, on_batch=after_step, step=step)
                train_loss = self.evaluate(X)
                val_loss = None if X_val is None else self.evaluate(X_val)
            if not math.isfinite(train_loss):
                raise TrainingDiverged(train_loss, epoch + 1, None, lr)
            history["train"].append(train_loss)
            if val_loss is not None:
                history["val"].append(val_loss)
            history["seconds"].append(time.perf_counter() - started)
            if callback is not None and callback(epoch, history) is False:
                break
        return history


def _check_probabilities(X, what="x"):
    if X.min() < 0 or X.max() > 1:
        raise ValueError(f"{what}: cross-entropy needs targets in [0, 1] (the lecture's binary inputs), "
                         f"got values in [{X.min():.4g}, {X.max():.4g}]; scale the data to [0, 1] or "
                         "use loss='mse' with a linear decoder")
