"""Layers: `Module` (parameter registry, the module tree, state dicts), `Linear`, `TiedLinear`, `Sequential`,
`Flatten`, `Parameter`; the activations, losses and containers in `activations.py`, `losses.py`, `containers.py`.

A module's parameters are simply its attributes that are Tensors with requires_grad=True; its
submodules are its attributes that are Modules. Both are found by scanning `vars(self)`, which
keeps assignment order, so no registration calls are needed and names follow PyTorch:
`encoder.weight`, `encoder.bias`, `0.weight` inside a Sequential.

As torch.nn: `nn.functional` is tinygrad_ae.functional itself (one module, two names), and `nn.init`
fills parameters in place.
"""
import sys

import numpy as np

from .. import functional as F
from .. import random
from ..engine import ops
from ..engine.tensor import Tensor, apply


class Module:
    """Base class: subclasses set parameters/submodules as attributes and define `forward`.

    `training` (True until `eval()`) tells layers such as Dropout which mode they are in."""

    training = True                             # the default; train()/eval() set it per instance

    def train(self, mode=True):
        """Set training mode (or, with mode=False, evaluation mode) here and in every submodule."""
        stack, seen = [self], set()
        while stack:
            module = stack.pop()
            if id(module) not in seen:
                seen.add(id(module))
                module.training = bool(mode)
                stack.extend(v for v in vars(module).values() if isinstance(v, Module))
        return self

    def eval(self):
        """Evaluation mode: train(False)."""
        return self.train(False)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def named_parameters(self):
        """List of (dotted name, Tensor) in registration order; a shared Tensor is listed once."""
        named, seen_tensors, seen_modules = [], set(), set()

        def walk(module, prefix):   # recursion depth = module nesting depth, which is small
            seen_modules.add(id(module))
            for name, value in vars(module).items():
                if isinstance(value, Tensor) and value.requires_grad and id(value) not in seen_tensors:
                    seen_tensors.add(id(value))
                    named.append((prefix + name, value))
                elif isinstance(value, Module) and id(value) not in seen_modules:
                    walk(value, prefix + name + ".")

        walk(self, "")
        return named

    def parameters(self):
        """List of parameter Tensors in registration order, without duplicates."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (PyTorch's default, set_to_none=True), or fill it with zeros."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.data)

    # ----- the module tree, torch's names ------------------------------------------------------
    def named_children(self):
        """(name, submodule) for the direct submodules, in assignment order."""
        return [(name, m) for name, m in vars(self).items() if isinstance(m, Module)]

    def children(self):
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module ("") and every module below it, each once, depth first."""
        out, seen, stack = [], set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((name, module))
            stack.extend(reversed([(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]))
        return out

    def modules(self):
        return [m for _, m in self.named_modules()]

    def apply(self, fn):
        """fn(module) for every submodule, then for this one (torch's order); returns self."""
        for module in reversed(self.modules()):
            fn(module)
        return self

    def to(self, *args, **kwargs):
        """A dtype converts every parameter in place (p.data gets the new dtype); "cpu" is accepted."""
        from .. import dtypes
        dtype = kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, str) or type(arg).__name__ == "device":
                dtypes.check_device("Module.to", arg)
            else:
                dtype = arg
        if dtype is not None:
            dtype = dtypes.as_dtype("Module.to", dtype)
            for p in self.parameters():
                p.data = p.data.astype(dtype)
                p.grad = None
        return self

    def cpu(self): return self
    def float(self): return self.to(np.float32)
    def double(self): return self.to(np.float64)

    def state_dict(self):
        """Ordered dict name -> copy of the parameter's array (safe to keep while training goes on)."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict):
        """Copy arrays into the parameters in place, after checking every key, shape and dtype.

        Raises ValueError naming each missing, unexpected or wrongly shaped key before anything
        is changed, so a failed load leaves the module as it was.
        """
        params = dict(self.named_parameters())
        values = {}
        problems = []
        for name in params:
            if name not in state_dict:
                problems.append(f"missing key {name!r}")
        for name, value in state_dict.items():
            if name not in params:
                problems.append(f"unexpected key {name!r}")
                continue
            try:
                value = np.asarray(value.data if isinstance(value, Tensor) else value)
            except ValueError as error:        # a ragged nested list: numpy's message names no key
                problems.append(f"key {name!r} holds a {type(value).__name__} that is not a rectangular array "
                                f"({error}); pass an array, or nested lists of equal lengths")
                continue
            p = params[name]
            if value.shape != p.shape:
                problems.append(f"key {name!r} has shape {value.shape}, the parameter has shape {p.shape}")
            elif not np.can_cast(value.dtype, p.dtype, casting="same_kind"):
                problems.append(f"key {name!r} has dtype {value.dtype}, which cannot be cast to {p.dtype}")
            values[name] = value
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for name, value in values.items():
            # in place: optimizers and tied modules keep pointing at the same arrays
            np.copyto(params[name].data, value, casting="same_kind")


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features): the lecture's W, PyTorch's layout."""

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {label} must be a positive integer, got {n!r}")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be a floating type such as np.float32, got {dtype}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        # a Generator is used as is; an int seeds a new one; None: the default generator (tg.manual_seed)
        rng = random.numpy_generator(rng)
        # Glorot/Xavier uniform U(-a, a), a = sqrt(6 / (fan_in + fan_out)), and a zero bias: the lecture's
        # choice, keeping activation variance roughly equal forwards and backwards for sigmoid/tanh units.
        # PyTorch's default differs (Kaiming-uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)), for both
        # weight and bias), an inherited heuristic aimed at ReLU networks.
        bound = np.sqrt(6.0 / (self.in_features + self.out_features))
        weight = rng.uniform(-bound, bound, size=(self.out_features, self.in_features)).astype(dtype)
        self.weight = Tensor(weight, requires_grad=True, name="weight")
        self.bias = Tensor(np.zeros(self.out_features, dtype), requires_grad=True, name="bias") if bias else None

    def __call__(self, x):          # Module's, for one input: no *args/**kwargs to pack on the hot path
        return self.forward(x)

    def forward(self, x):
        try:    # the primitive itself, as F.linear does: a layer call is the autoencoder's hot path
            return apply(ops.Linear, x if isinstance(x, Tensor) else Tensor(x), self.weight, self.bias)
        except ValueError:
            _check_width(self, x)   # checked only on failure: the hot path stays one call
            raise

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


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

    def __init__(self, p=0.5, rng=None):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = random.numpy_generator(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def __repr__(self):
        return f"Dropout(p={self.p})"


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

    def __repr__(self):
        return "Sequential(" + ", ".join(repr(m) for m in self._layers()) + ")"


class Flatten(Module):
    """torch.nn.Flatten: dims start_dim..end_dim made one (by default all but the batch dim)."""
    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x): return x.flatten(self.start_dim, self.end_dim)
    def __repr__(self): return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"


class Unflatten(Module):
    """torch.nn.Unflatten: dim split into unflattened_size."""
    def __init__(self, dim, unflattened_size):
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x): return x.unflatten(self.dim, self.unflattened_size)
    def __repr__(self): return f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size})"


class _ParameterType(type):
    def __instancecheck__(cls, obj):            # a parameter is a leaf tensor that requires grad
        return isinstance(obj, Tensor) and obj.is_leaf and obj.requires_grad


class Parameter(metaclass=_ParameterType):
    """torch.nn.Parameter(data, requires_grad=True): a leaf tensor holding data (its array, not a copy)
    that a Module lists among its parameters. The engine has one tensor type, so what comes back is a
    Tensor; `isinstance(p, nn.Parameter)` is True for any leaf tensor that requires grad."""
    def __new__(cls, data=None, requires_grad=True):
        array = np.zeros(0, np.float32) if data is None else data.data if isinstance(data, Tensor) else np.asarray(data)
        if array.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating point tensors can require gradients, got dtype {array.dtype}")
        return Tensor(array, requires_grad=requires_grad)


# torch.nn.functional: the package's functional module under torch's name, so that
# `import tinygrad_ae.nn.functional as F` and `tinygrad_ae.functional` are the same module
functional = F
sys.modules[__name__ + ".functional"] = F
from . import init  # noqa: E402 (init imports nothing from here)
# the rooms of torch.nn's modules; each file's __all__ says what it adds to nn
from .losses import *  # noqa: E402,F401,F403 (they subclass Module)
from .activations import *  # noqa: E402,F401,F403
from .sparse import *  # noqa: E402,F401,F403
from .containers import ModuleDict, ModuleList  # noqa: E402
