"""The lecture's autoencoder, built from the framework's own layers, and the regularized ones that follow it.

    encoder   h     = g(W x + b)        W: (k, n)  = ae.encoder.weight,  b = ae.encoder.bias
    decoder   x_hat = f(W* h + c)       W*: (n, k) = ae.decoder.weight,  c = ae.decoder.bias
                                        tied=True: W* = W^T, ae.decoder is an nn.TiedLinear whose
                                        only parameter is c (ae.decoder.weight reads W.T)

Rows of a batch X (m, n) are the examples x_i, so in code a1 = X @ W.T + b and a2 = h @ W*.T + c.
The loss is in the lecture's normalization: summed over the n features, averaged over the m examples.
Squared error goes with a linear (or tanh) decoder for real inputs; cross-entropy goes with the
logistic decoder for binary inputs and is computed from the logits a2, so it never takes log(0).

Beyond the identity (the lecture's "road ahead"); every default leaves the model above unchanged:

    weight_decay=lam          + lam * sum of ||W||^2 over the weight matrices (not the biases; once when tied)
    noise="mask"|"gaussian"   denoising (Vincent et al. 2008): in training mode the encoder sees a corrupted
      noise_level=q|sigma     copy of x (each input set to 0 with probability q, or x + N(0, sigma^2)), and the
                              reconstruction is compared with the clean x. The noise draws from ae.generator.
    sparsity=rho              + beta * sum_l KL(rho || rho_hat_l), rho_hat_l = the mean of h_l over the batch
      sparsity_weight=beta    (Ng's sparse autoencoder; needs a sigmoid code, whose units lie in (0, 1))
    contractive=lam           + lam * ||J_h(x)||_F^2 averaged over the batch, J_h = dh/dx (Rifai et al. 2011),
                              in closed form: sum_j g'(a_j)^2 sum_i W_ji^2 (one hidden layer)
    n_hidden=(1000, 500, ...) a deep autoencoder (Hinton & Salakhutdinov 2006): the encoder stacks Linear
      code_activation         layers with g (the last one, the code, with code_activation), the decoder mirrors
                              them, f on the output. State dict: encoder.0.weight ... encoder.{L-1}.bias (input
                              to code), then decoder.0.weight ... (code to output).

`ae.encoder` and `ae.decoder` hold the layers (an nn.Linear each, or an nn.Sequential of them for a deep model);
encode and decode apply the activations between them.
`ae.loss(x)` is the objective training minimizes (reconstruction plus penalties, on a corrupted x in training
mode); `ae.reconstruction_loss(x)` is the lecture's term alone on clean x; `ae.train()` / `ae.eval()` switch
modes as PyTorch modules do. encode, decode, forward and evaluate never corrupt their input.

Here: the architecture and the objective's entry points. The rules of a valid model are spec.py's, the
penalties' formulas penalties.py's, and fit, train_epoch and evaluate run training/loop.py's one loop.
"""
import numpy as np

from .. import nn, random
from .. import functional as F
from . import penalties, spec
from ..data.rows import validate_rows
from . import steps
from ..engine.tensor import Tensor


def _activation(name):
    """The Tensor method that applies activation `name`; None for "linear" (the identity)."""
    return None if name == "linear" else getattr(Tensor, name)


class GlorotLinear(nn.Linear):
    """The lecture's layer: nn.Linear started from Glorot/Xavier uniform U(-a, a), a = sqrt(6 / (fan_in +
    fan_out)), with a zero bias, which keeps activation variance roughly equal forwards and backwards for
    sigmoid and tanh units. (nn.Linear itself starts as PyTorch's does, a heuristic aimed at ReLU networks.)"""

    def reset_parameters(self, rng=None):
        rng = random.numpy_generator(rng)
        bound = np.sqrt(6.0 / (self.in_features + self.out_features))
        self.weight.data[...] = rng.uniform(-bound, bound, size=self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = 0

    def _get_name(self):
        return "Linear"         # printed as the nn.Linear it is


class Autoencoder(nn.Module):
    """h = g(W x + b), x_hat = f(W* h + c), trained to reconstruct its input (deep: layers of each)."""

    def __init__(self, n_inputs, n_hidden, encoder="sigmoid", decoder="linear", tied=False,
                 loss=None, dtype=np.float32, seed=None, *, code_activation=None, weight_decay=0.0,
                 noise=None, noise_level=None, sparsity=None, sparsity_weight=None, contractive=0.0):
        s = spec.model_spec(n_hidden, encoder, decoder, tied, loss, code_activation=code_activation,
                            weight_decay=weight_decay, noise=noise, noise_level=noise_level, sparsity=sparsity,
                            sparsity_weight=sparsity_weight, contractive=contractive)
        self.encoder_activation, self.decoder_activation, self.code_activation = s.encoder, s.decoder, s.code_activation
        self.loss_name, self.tied, self.deep = s.loss, s.tied, s.deep
        self.weight_decay, self.contractive = s.weight_decay, s.contractive
        self.noise, self.noise_level = s.noise, s.noise_level
        self.sparsity, self.sparsity_weight = s.sparsity, s.sparsity_weight
        sizes = s.sizes
        # the model's generator: first the initial weights, then the noise of every training step. Its state
        # goes into the training checkpoints, so a resumed run draws exactly the noise it would have drawn.
        # seed=None seeds it from the default generator, so tg.manual_seed makes the model reproducible
        self.generator = rng = random.numpy_generator(random.child_seed() if seed is None else seed)
        widths = (int(n_inputs),) + sizes
        encoders = [GlorotLinear(a, b, dtype=dtype, rng=rng) for a, b in zip(widths, widths[1:])]
        if self.tied:   # W* = W^T, layer by layer: each decoder layer's only parameter is its bias
            decoders = [nn.TiedLinear(layer) for layer in reversed(encoders)]
        else:
            decoders = [GlorotLinear(b, a, dtype=dtype, rng=rng) for a, b in reversed(list(zip(widths, widths[1:])))]
        if self.deep:
            self.encoder, self.decoder = nn.Sequential(*encoders), nn.Sequential(*decoders)
        else:
            (self.encoder,), (self.decoder,) = encoders, decoders
            params = (("W", self.encoder.weight), ("b", self.encoder.bias), ("c", self.decoder.bias))
            for name, tensor in params + (() if self.tied else (("W*", self.decoder.weight),)):
                tensor.name = name
        # each layer's activation, input to code and code to output: g ... g, code; g ... g, f
        hidden = (self.encoder_activation,) * (len(sizes) - 1)
        # encode's and decode's plans, made once here rather than at every call: (layer, name of its output
        # a_i, activation) per encoder layer; (layer, activation) per decoder layer before the last, whose
        # output is a2, and the output activation f (None: linear)
        self._encode_plan = tuple(zip(encoders, ("a1",) if not self.deep else [f"a{i + 1}" for i in range(len(sizes))],
                                      map(_activation, hidden + (self.code_activation,))))
        self._decode_plan = tuple(zip(decoders[:-1], map(_activation, hidden)))
        self._decode_output, self._output_activation = decoders[-1], _activation(self.decoder_activation)
        self.n_inputs = int(n_inputs)
        self.n_hidden = sizes if self.deep else sizes[0]
        self.dtype = np.dtype(dtype)

    @property
    def code_size(self):
        """The number of units in the code h (the last encoder layer)."""
        return self.n_hidden[-1] if self.deep else self.n_hidden

    @property
    def is_undercomplete(self):
        """dim h < dim x: the network must compress (the lecture's under-complete case)."""
        return self.code_size < self.n_inputs

    @property
    def penalties(self):
        """The names (from spec.PENALTIES) of the penalties this model adds to its reconstruction term."""
        return spec.active_penalties(self.weight_decay, self.sparsity, self.contractive)

    def __repr__(self):
        extra = "".join(
            f", {name}={value!r}" for name, value, default in (
                ("code_activation", self.code_activation, self.encoder_activation),
                ("weight_decay", self.weight_decay, 0.0), ("noise", self.noise, None),
                ("noise_level", self.noise_level, None), ("sparsity", self.sparsity, None),
                ("sparsity_weight", self.sparsity_weight, 0.0), ("contractive", self.contractive, 0.0))
            if value != default)
        return (f"Autoencoder(n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, "
                f"encoder={self.encoder_activation!r}, decoder={self.decoder_activation!r}, "
                f"tied={self.tied}, loss={self.loss_name!r}, dtype={self.dtype}{extra})")

    # ----- the forward pass, in the lecture's names -------------------------------------------
    _as_input = steps.as_input

    def encode(self, x):
        """h = g(W x + b) for every row of x (deep: through every encoder layer, to the code)."""
        h = self._as_input(x)
        for layer, name, activate in self._encode_plan:
            a = layer(h)
            a.name = name
            h = a if activate is None else activate(a)
        h.name = "h"
        return h

    def decode_logits(self, h):
        """a2 = W* h + c, the decoder's pre-activation (deep: that of its last layer)."""
        for layer, activate in self._decode_plan:
            h = layer(h) if activate is None else activate(layer(h))
        a2 = self._decode_output(h)  # nn.Linear, or nn.TiedLinear: h @ W + c
        a2.name = "a2"
        return a2

    def decode(self, h):
        """x_hat = f(W* h + c)."""
        a2, activate = self.decode_logits(h), self._output_activation
        x_hat = a2 if activate is None else activate(a2)
        x_hat.name = "x_hat"
        return x_hat

    def forward(self, x):
        """The reconstruction x_hat of x (of x as given: the noise belongs to the training objective only)."""
        return self.decode(self.encode(x))

    def corrupt(self, x, generator=None):
        """The corrupted copy of x that a denoising autoencoder's encoder sees in training mode.

        mask: each input set to 0 with probability q; gaussian: x + N(0, sigma^2). Draws from `generator`,
        by default the model's own (ae.generator), so training runs are reproducible. No noise: x itself."""
        x = self._as_input(x)
        if self.noise is None:
            return x
        rng = self.generator if generator is None else generator
        shape, dtype = x.shape, x.dtype
        if self.noise == "mask":
            return x * (random.draw(rng, "random", shape, dtype) >= self.noise_level).astype(dtype)
        return x + self.noise_level * random.draw(rng, "standard_normal", shape, dtype)

    # ----- the objective ----------------------------------------------------------------------
    def loss(self, x):
        """The objective training minimizes on a batch: the lecture's reconstruction term (summed over
        features, averaged over examples) plus the penalties. In training mode a denoising model encodes
        a corrupted copy of x (drawn from ae.generator) and is compared with the clean x."""
        x = self._check_input(x)
        return self._loss(x, self.encoder_input(x))

    def reconstruction_loss(self, x):
        """The lecture's reconstruction term alone, on clean x, whatever the mode and the penalties."""
        x = self._check_input(x)
        return self.reconstruction(x, self.encode(x))

    def loss_terms(self, x, corrupt=None):
        """{"reconstruction": ..., one entry per penalty, "objective": their sum} as Tensors on a batch.
        corrupt: whether the encoder sees a corrupted x (default: in training mode, if the model has noise)."""
        x = self._check_input(x)
        corrupt = self.training if corrupt is None else corrupt
        return self._terms(x, self.corrupt(x) if corrupt else x)

    def encoder_input(self, x):
        """What the encoder sees in the objective: in training mode a denoising model's corrupted copy of x
        (one draw from ae.generator), else x itself. Drawn outside the objective, so a step that takes it as
        an argument replays with new noise every time."""
        return self.corrupt(x) if self.training and self.noise is not None else x

    def reconstruction(self, x, h):
        """The lecture's term for the code h of a clean batch x (x not checked): decode(h) against x.
        Cross-entropy is taken from the logits a2, so it never takes log(0)."""
        if self.loss_name == "bce":
            return F.binary_cross_entropy_with_logits(self.decode_logits(h), x, reduction="batchmean")
        return F.mse_loss(self.decode(h), x, reduction="batchmean")

    def penalty(self, name, h, code_mean=None):
        """The penalty `name` (one of self.penalties) for the code h of a batch. Sparsity compares code_mean,
        each code unit's mean activation, with rho: by default h's mean over the batch."""
        if name == "weight_decay":
            return penalties.weight_decay(self)
        if name == "sparsity":
            return penalties.sparsity(self, h.mean(axis=0) if code_mean is None else code_mean)
        return penalties.contractive(self, h)

    def check_data(self, X, what="X"):
        """X as an array of this model's dtype, or a ValueError that says what is wrong with it."""
        X = validate_rows(X, self.n_inputs, what).astype(self.dtype, copy=False)
        if self.loss_name == "bce":
            spec.check_targets(X, what)
        return X

    def _check_input(self, x):
        x = self._as_input(x)
        if self.loss_name == "bce":
            spec.check_targets(x.data)
        return x

    def _loss(self, x, x_in=None):
        """loss() without the check of x, for data that check_data() has already passed; the encoder sees
        x_in (encoder_input(x), drawn by the caller), by default x."""
        if not self.penalties:      # the lecture's model (denoising or not): nothing added
            value = self.reconstruction(x, self.encode(x if x_in is None else x_in))
        else:
            value = self._terms(x, x_in)["objective"]
        value.name = "L"
        return value

    def _terms(self, x, x_in=None):
        h = self.encode(x if x_in is None else x_in)
        terms = {"reconstruction": self.reconstruction(x, h)}
        for name in self.penalties:
            terms[name] = self.penalty(name, h)
        objective = terms["reconstruction"]
        for name in self.penalties:
            objective = objective + terms[name]
        terms["objective"] = objective
        return terms

    # ----- training: the step here, the loop in training/loop.py ---------------------------
    def training_step(self, optimizer, compile=True):
        """step(x): one optimizer step on the batch Tensor x (zero_grad, loss, backward, step), returning
        the loss. X must be what check_data() returned: batches are not checked again, step after step.
        A denoising model's step is step(x, x_in), x_in = encoder_input(x): the noise is drawn outside the
        step, so a compiled step sees new noise at every call instead of replaying the captured draw.
        compile=True makes it a tg.compile step: eager at its first call, captured at the next two, then
        replayed as a planned program (numpy backend: bit for bit the eager results; the fused backend,
        the default when numba is installed: equal to float tolerance, see tg.compile); the last, smaller
        batch of an epoch gets a program of its own."""
        return steps.training_step(self, optimizer, Autoencoder._loss, compile)

    # The loop builds on the model (training/ imports models/, not the other way round), so these entry
    # points import it when they are called: nothing in models/ needs training/ to load or to be read.

    def fit(self, X, epochs=10, batch_size=64, lr=1e-3, optimizer="adam", shuffle=True, seed=None,
            X_val=None, callback=None, *, on_step=None, history=None, compile=True):
        """Minibatch training, the package's one loop (the `train` job runs it too): training.loop.fit(self, ...).

        Returns the history {"train": [...], "val": [...], "seconds": [...]} (and one list per penalty, and
        "objective"); hooks on_step(epoch, batch_index, batch_loss) and callback(epoch, history) (False stops);
        raises TrainingDiverged when the loss becomes NaN or inf. Every argument is explained in loop.fit."""
        from ..training import loop
        return loop.fit(self, X, epochs, batch_size, lr, optimizer, shuffle, seed, X_val, callback,
                        on_step=on_step, history=history, compile=compile)

    def train_epoch(self, X, optimizer, batch_size=64, shuffle=True, rng=None, on_batch=None, step=None):
        """One pass over X (as check_data() returned it) in minibatches: training.loop.train_epoch(self, ...)."""
        from ..training import loop
        return loop.train_epoch(self, X, optimizer, batch_size, shuffle, rng, on_batch, step)

    def evaluate(self, X, batch_size=1024):
        """The reconstruction term on all of X (lecture normalization, clean inputs), without building a graph."""
        from ..training import loop
        return loop.evaluate(self, X, batch_size)

    def evaluate_terms(self, X, batch_size=1024):
        """{"reconstruction", each penalty, "objective"} as floats on all of X, clean inputs, no graph
        (training.loop.evaluate_terms: sparsity compares the mean activation over all rows)."""
        from ..training import loop
        return loop.evaluate_terms(self, X, batch_size)
