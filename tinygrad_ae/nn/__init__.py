"""torch.nn: the layers `Linear` (PyTorch's initialisation), `TiedLinear`, `Dropout`, `Identity`, `Sequential`,
`Flatten`, `Unflatten`; `Module` and `Parameter` in `module.py`; the activations, losses, containers and
lookup layers in `activations.py`, `losses.py`, `containers.py`, `sparse.py` (each file's __all__ is
what it adds here).

As torch.nn: `nn.functional` is tinygrad_ae.functional itself (one module, two names), and `nn.init`
fills parameters in place.
"""
import sys

import numpy as np

from .. import functional as F
from .. import dtypes, random
from ..engine import ops
from ..engine.tensor import Tensor, apply, no_grad
from .module import IncompatibleKeys, Module, Parameter  # noqa: F401 (nn's names)


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features): the lecture's W, PyTorch's layout."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None, rng=None):
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {label} must be a positive integer, got {n!r}")
        if device is not None:
            dtypes.check_device("Linear", device)
        # a string is numpy's spelling ("float32"), which Linear took before torch's dtypes came
        dtype = (dtypes.get_default_dtype() if dtype is None else np.dtype(dtype) if isinstance(dtype, str)
                 else dtypes.as_dtype("Linear", dtype))
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be a floating type such as torch.float32, got {dtype}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Tensor(np.empty((self.out_features, self.in_features), dtype), requires_grad=True, name="weight")
        self.bias = Tensor(np.empty(self.out_features, dtype), requires_grad=True, name="bias") if bias else None
        # a Generator is used as is; an int seeds a new one; None: the default generator (tg.manual_seed)
        self.reset_parameters(random.numpy_generator(rng))

    def reset_parameters(self, rng=None):
        """PyTorch's start: weight kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and
        the bias from the same interval; drawn weight first, from `rng` (None: the default generator)."""
        rng = random.numpy_generator(rng)
        bound = 1.0 / np.sqrt(self.in_features)
        with no_grad():
            self.weight.data[...] = rng.uniform(-bound, bound, size=self.weight.shape)
            if self.bias is not None:
                self.bias.data[...] = rng.uniform(-bound, bound, size=self.bias.shape)

    def __call__(self, x):          # Module's, for one input: no *args/**kwargs to pack on the hot path
        return self.forward(x)

    def forward(self, x):
        try:    # the primitive itself, as F.linear does: a layer call is the autoencoder's hot path
            return apply(ops.Linear, x if isinstance(x, Tensor) else Tensor(x), self.weight, self.bias)
        except ValueError:
            _check_width(self, x)   # checked only on failure: the hot path stays one call
            raise

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class TiedLinear(Module):
    """y = x @ W + c, where W is the weight of another Linear (so this layer's weight is W.T): tied weights.

    Its only own parameter is `bias` (c, one per output); the weight stays the other layer's, so
    gradients from both uses add up in that one Tensor. The lecture's tied decoder: x_hat = f(W^T h + c).
    """

    def __init__(self, tied_to, bias=True):
        if not isinstance(tied_to, Linear):
            raise TypeError(f"TiedLinear: tied_to must be a Linear, got {type(tied_to).__name__}")
        self.tied_to = tied_to       # a module seen first elsewhere (e.g. the encoder) is listed there, once
        self.in_features, self.out_features = tied_to.out_features, tied_to.in_features
        dtype = tied_to.weight.dtype
        self.bias = Tensor(np.zeros(self.out_features, dtype), requires_grad=True, name="bias") if bias else None

    @property
    def weight(self):
        """W.T, the effective (out_features, in_features) weight: a view for reading, not a parameter."""
        return self.tied_to.weight.T

    __call__ = Linear.__call__

    def forward(self, x):
        try:
            y = (x if isinstance(x, Tensor) else Tensor(x)) @ self.tied_to.weight
        except ValueError:
            _check_width(self, x)
            raise
        return y if self.bias is None else y + self.bias

    def __repr__(self):
        return (f"TiedLinear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, weight=transpose of {self.tied_to!r})")


def _check_width(layer, x):
    """ValueError naming the layer if x's last dimension is not the layer's in_features."""
    shape = x.shape if isinstance(x, Tensor) else np.shape(x)
    if len(shape) == 0 or shape[-1] != layer.in_features:
        raise ValueError(f"{layer!r}: expected input with {layer.in_features} features in its last dimension, "
                         f"got shape {tuple(shape)}") from None


class Dropout(Module):
    """Zero each element with probability p and scale the rest by 1/(1 - p) in training mode (PyTorch's
    rule); the identity after eval(). The masks come from `rng`: a Generator (numpy's or tg's), a seed
    for a new one, or None for the default generator (tg.manual_seed)."""

    def __init__(self, p=0.5, inplace=False, rng=None):     # inplace accepted: the result is new either way
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        if not isinstance(inplace, bool):
            raise TypeError(f"Dropout: inplace must be True or False, got {inplace!r} (pass rng= by keyword)")
        self.p = float(p)
        self.rng = random.numpy_generator(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"


class Identity(Module):
    def forward(self, x):
        return x


class Sequential(Module):
    """Modules applied in order; submodules are registered as attributes "0", "1", ..."""

    def __init__(self, *modules):
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, expected a Module")
            setattr(self, str(i), module)

    def _layers(self):
        return [m for m in vars(self).values() if isinstance(m, Module)]   # not the training flag

    def forward(self, x):
        for module in self._layers():
            x = module(x)
        return x

    def __len__(self):
        return len(self._layers())

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def __iter__(self):
        return iter(self._layers())

    def __getitem__(self, index):
        layers = self._layers()
        return Sequential(*layers[index]) if isinstance(index, slice) else layers[index]


class Flatten(Module):
    """torch.nn.Flatten: dims start_dim..end_dim made one (by default all but the batch dim)."""
    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x): return x.flatten(self.start_dim, self.end_dim)
    def extra_repr(self): return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """torch.nn.Unflatten: dim split into unflattened_size."""
    def __init__(self, dim, unflattened_size):
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x): return x.unflatten(self.dim, self.unflattened_size)
    def extra_repr(self): return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


# torch.nn.functional: the package's functional module under torch's name, so that
# `import tinygrad_ae.nn.functional as F` and `tinygrad_ae.functional` are the same module
functional = F
sys.modules[__name__ + ".functional"] = F
from . import init  # noqa: E402 (init imports nothing from here)
# the rooms of torch.nn's modules; each file's __all__ says what it adds to nn
from .losses import *  # noqa: E402,F401,F403 (they subclass Module)
from .activations import *  # noqa: E402,F401,F403
from .sparse import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .pooling import *  # noqa: E402,F401,F403
from .normalization import *  # noqa: E402,F401,F403
from .masked import *  # noqa: E402,F401,F403
from .containers import ModuleDict, ModuleList  # noqa: E402
