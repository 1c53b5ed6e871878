"""MADE, the masked autoencoder for distribution estimation (Germain, Gregor, Murray & Larochelle, 2015).

A dense autoencoder x -> ReLU hidden layers -> logits whose weights are masked so that output d sees only
the inputs before it: output d gives the logit of p(x_d = 1 | x_<d), and the product of the D outputs is a
normalized density over binary vectors, p(x) = prod_d p(x_d | x_<d).

The masks (natural ordering: input d has degree m0(d) = d, d = 1..D):
    hidden layer l, unit k: degree m_l(k) drawn uniformly from {min_k' m_{l-1}(k'), ..., D - 1}
    hidden mask   M_l[k, k'] = 1  iff  m_l(k) >= m_{l-1}(k')     (a unit sees the inputs its degree allows)
    output mask   M_V[d, k]  = 1  iff  d > m_L(k)                (strictly: output d never sees x_d)
The degrees come from the model's generator (seed=), so a seed gives the same masks.

    loss(x)       -sum_d [x_d log p_d + (1 - x_d) log(1 - p_d)], mean over rows: the negative log-likelihood
                  in nats per example, from the logits (binary cross-entropy with logits)
    sample(n)     draws x_1, then x_2 given x_1, ..., one input at a time (D forward passes)
"""
import numpy as np

from .. import nn, random
from .. import functional as F
from ..data.rows import validate_rows
from . import steps
from ..engine.tensor import Tensor, no_grad


def check_sizes(n_inputs, n_hidden, owner="MADE"):
    """(n_inputs, hidden sizes as a tuple), or a ValueError that says what is wrong."""
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 2:
        raise ValueError(f"{owner}: n_inputs must be a whole number >= 2 (with one input there is nothing "
                         f"to condition on), got {n_inputs!r}")
    sizes = (n_hidden,) if isinstance(n_hidden, (int, np.integer)) and not isinstance(n_hidden, bool) else n_hidden
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if not sizes or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in sizes):
        raise ValueError(f"{owner}: n_hidden must be a positive whole number or a non-empty sequence of them "
                         f"(one per hidden layer, e.g. (500,)), got {n_hidden!r}")
    return int(n_inputs), tuple(int(k) for k in sizes)


def check_binary(X, what="x", owner="MADE"):
    """ValueError unless every value of the array X is 0 or 1: MADE models binary vectors."""
    if not np.isin(X, (0, 1)).all():
        bad = X[~np.isin(X, (0, 1))]
        raise ValueError(f"{owner}: {what} must be binary (every value 0 or 1), got values such as {bad[0]:g} "
                         f"(min {X.min():g}, max {X.max():g}); binarize it first, e.g. (X >= 0.5).astype(np.float32) "
                         "(in the train job: --binarize)")


def masks(n_inputs, sizes, rng):
    """The paper's masks for the natural ordering: one 0/1 array (out, in) per layer, input to output,
    and the degrees of every layer (inputs first). Degrees drawn from rng."""
    degrees = [np.arange(1, n_inputs + 1)]
    for k in sizes:
        low = min(int(degrees[-1].min()), n_inputs - 1)
        degrees.append(rng.integers(low, n_inputs, size=k))     # uniform on {low, ..., D - 1}
    layer_masks = [(d[:, None] >= prev[None, :]) for prev, d in zip(degrees, degrees[1:])]
    layer_masks.append(degrees[0][:, None] > degrees[-1][None, :])
    return [m.astype(np.float64) for m in layer_masks], degrees


class MADE(nn.Module):
    """p(x) = prod_d sigmoid(logit_d(x_<d)) over binary x: masked ReLU layers; made(x) gives the logits."""

    def __init__(self, n_inputs, n_hidden=(500,), seed=None, dtype=np.float32):
        n_inputs, sizes = check_sizes(n_inputs, n_hidden)
        # the model's generator: first the degrees, then the initial weights (nn.Linear's, PyTorch's start)
        self.generator = rng = random.numpy_generator(random.child_seed() if seed is None else seed)
        layer_masks, self.degrees = masks(n_inputs, sizes, rng)
        widths = (n_inputs,) + sizes + (n_inputs,)
        self.layers = tuple(nn.MaskedLinear(a, b, mask=m, dtype=dtype, rng=rng)
                            for a, b, m in zip(widths, widths[1:], layer_masks))
        # Karpathy's pytorch-made layout, MaskedLinear and ReLU in one Sequential: the state dict's names
        # (net.0.weight, net.0.bias, net.0.mask, net.2.weight, ...) load into that network as they are
        between = [[layer, nn.ReLU()] for layer in self.layers[:-1]]
        self.net = nn.Sequential(*[m for pair in between for m in pair], self.layers[-1])
        self.n_inputs, self.n_hidden, self.dtype = n_inputs, sizes, np.dtype(dtype)

    def __repr__(self):
        return f"MADE(n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, dtype={self.dtype})"

    _as_input = steps.as_input

    def forward(self, x):
        """The logits of p(x_d = 1 | x_<d), d = 1..D, for every row of x."""
        return self.net(self._as_input(x))

    def check_data(self, X, what="X"):
        """X as an array of this model's dtype, or a ValueError that says what is wrong with it (not binary)."""
        X = validate_rows(X, self.n_inputs, what).astype(self.dtype, copy=False)
        check_binary(X, what)
        return X

    def loss(self, x):
        """The negative log-likelihood of each row (nats, summed over the inputs), mean over the rows."""
        x = self._as_input(x)
        check_binary(x.data, "x")
        return self._loss(x)

    def _loss(self, x):
        return F.binary_cross_entropy_with_logits(self.forward(x), x, reduction="batchmean")

    def log_prob(self, x):
        """log p(x) of each row (nats), as an array."""
        x = self._as_input(x)
        check_binary(x.data, "x")
        with no_grad():
            a = self.forward(x).numpy().astype(np.float64)
        return -(np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))) - x.numpy() * a).sum(axis=1)

    def sample(self, n, generator=None):
        """n binary rows drawn from the model, input by input; draws from `generator` (default: the model's)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"MADE.sample: n must be a positive whole number, got {n!r}")
        rng = self.generator if generator is None else random.numpy_generator(generator)
        x = np.zeros((int(n), self.n_inputs), self.dtype)
        with no_grad():
            for d in range(self.n_inputs):      # output d depends only on x_<d, all drawn already
                p = self.forward(Tensor(x)).sigmoid().numpy()[:, d]
                x[:, d] = rng.random(int(n)) < p
        return Tensor(x)

    # ----- training: the loop is training/loop.py's (as the Autoencoder's) ----------------------------
    history_terms = ()                  # no terms beside the loss: history has train, val, seconds

    def step_inputs(self, x):
        """What a training step takes beside the batch: nothing (MADE draws no noise)."""
        return ()

    def batch_terms(self, x, rng=None):
        """{"objective": the loss} on a checked batch, as Tensors (the loop's evaluation adds them up)."""
        return {"objective": self._loss(x)}

    def training_step(self, optimizer, compile=True):
        """step(x): zero_grad, loss, backward, step on a checked batch; a tg.compile step by default."""
        return steps.training_step(self, optimizer, type(self)._loss, compile)

    def fit(self, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
            X_val=None, callback=None, *, on_step=None, history=None, compile=True):
        """Minibatch training through the package's one loop (training.loop.fit), as Autoencoder.fit:
        history {"train", "val", "seconds"} of the negative log-likelihood per example."""
        from ..training import loop
        return loop.fit(self, X, epochs, batch_size, lr, optimizer, shuffle, seed, X_val, callback,
                        on_step=on_step, history=history, compile=compile)

    def evaluate(self, X, batch_size=1024):
        """The negative log-likelihood per example on all of X, without building a graph."""
        from ..training import loop
        return loop.evaluate(self, X, batch_size)
