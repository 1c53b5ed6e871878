"""Tensor's named methods (torch's names), kept out of tensor.py so the engine stays short.

They are written in a class body used as a namespace and installed on Tensor with setattr when this
module is imported (engine/__init__.py imports it, so every `import tinygrad_ae` has them). Imports go
one way: this module imports tensor, never the reverse.
"""
import numpy as np

from . import arguments, ops
from .tensor import Tensor, apply


class TensorMethods:
    """A namespace: every function and property below becomes an attribute of Tensor."""

    def exp(self): return apply(ops.Exp, self)
    def log(self): return apply(ops.Log, self)
    def sqrt(self): return apply(ops.Sqrt, self)
    def sigmoid(self): return apply(ops.Sigmoid, self)
    def tanh(self): return apply(ops.Tanh, self)
    def relu(self): return apply(ops.ReLU, self)
    def softplus(self): return apply(ops.Softplus, self)

    def sum(self, axis=None, keepdims=False):
        return apply(ops.Sum, self, axis=arguments.axis(axis), keepdims=bool(keepdims))

    def reshape(self, *shape):
        shape = arguments.shape(shape)
        try:
            return apply(ops.Reshape, self, shape=shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({self.size} elements) into shape {shape}") from None

    def transpose(self, *axes): return apply(ops.Transpose, self, axes=arguments.axes(axes))

    def swapaxes(self, axis1, axis2): return self.transpose(arguments.swapped_axes(self.ndim, axis1, axis2))

    def broadcast_to(self, shape): return apply(ops.BroadcastTo, self, shape=tuple(shape))
    T = property(lambda self: apply(ops.Transpose, self, axes=None))

    # max and min over axis (None: all): tied elements share the gradient equally; argmax and
    # argmin give plain integer ndarrays (no gradient)
    def max(self, axis=None, keepdims=False):
        return apply(ops.Max, self, axis=arguments.axis(axis), keepdims=bool(keepdims))

    def min(self, axis=None, keepdims=False):
        return apply(ops.Min, self, axis=arguments.axis(axis), keepdims=bool(keepdims))

    def argmax(self, axis=None, keepdims=False): return np.argmax(self.data, axis=axis, keepdims=keepdims)
    def argmin(self, axis=None, keepdims=False): return np.argmin(self.data, axis=axis, keepdims=keepdims)

    def clip(self, lo=None, hi=None):
        """Values limited to [lo, hi] (numbers; None: no bound); the gradient passes where lo <= x <= hi."""
        lo, hi = arguments.clip_bounds(lo, hi)
        return apply(ops.Clip, self, lo=lo, hi=hi)

    # Two composites every user reaches for as methods (functional.py has the rest)
    def mean(self, axis=None, keepdims=False):
        """Sum divided by the number of elements reduced over."""
        axis = arguments.axis(axis)
        count = arguments.reduced_count(self.shape, axis)
        return self.sum(axis, keepdims) * (1.0 / count if count else float("nan"))  # empty: nan, as numpy

    def abs(self):
        """|x| as x * sign(x) with sign(x) a constant: gradient sign(x), 0 at 0 as in PyTorch."""
        return self * np.sign(self.data)


for _name, _value in list(vars(TensorMethods).items()):
    if not _name.startswith("__"):
        setattr(Tensor, _name, _value)
