"""The derivative table, continued (ops.py would pass 400 lines): more elementwise functions, clip
and the zero-gradient roundings, running sums, products, gather with its adjoint scatter-add, casts.

The rules of ops.py's docstring hold here. Where a derivative needs a function a Tensor does not
dispatch from numpy (np.cos, np.cumsum, ...), backward calls the primitive through `_run`: on arrays
its forward directly (full speed, no graph), on a Tensor (a backward recorded under create_graph) the
primitive applied, so that the derivative is recorded and can be differentiated again. Sin and Cos,
Cumsum and its reverse, Gather and ScatterAdd are each other's backward: every order goes through.
ops.py imports every name here, so each stays `tinygrad_ae.engine.ops.X`.
"""
import numpy as np

from .ops import Function
from .special import erf


def _run(op, x, **constants):
    """op on x: its forward on plain data; applied (a graph node) when x is a Tensor."""
    if type(x).__module__ == __package__ + ".tensor":      # the Tensor, without importing it at load time
        from .tensor import apply
        return apply(op, x, **constants)
    return op().forward(x, **constants)


# ----- Elementwise ------------------------------------------------------------------------------

class Sin(Function):
    __slots__ = ()
    def forward(self, x): return np.sin(x)
    def backward(self, grad, out, x): return (grad * _run(Cos, x),)


class Cos(Function):
    __slots__ = ()
    def forward(self, x): return np.cos(x)
    def backward(self, grad, out, x): return (-grad * _run(Sin, x),)


class Expm1(Function):
    """exp(x) - 1, exact near 0 where exp(x) - 1 loses its digits."""
    __slots__ = ()
    def forward(self, x): return np.expm1(x)
    # exp(x), not out + 1: for x below about -37, out + 1 rounds to 0 while exp(x) does not (as torch)
    def backward(self, grad, out, x): return (grad * np.exp(x),)


class Log1p(Function):
    """log(1 + x), exact near 0."""
    __slots__ = ()
    def forward(self, x): return np.log1p(x)
    def backward(self, grad, out, x): return (grad / (1 + x),)


class Erf(Function):
    """The error function (numpy has none: special.py's rational approximations, ~1e-16 relative)."""
    __slots__ = ()
    def forward(self, x): return erf(x)
    def backward(self, grad, out, x): return (grad * (1.1283791670955126 * np.exp(-(x * x))),)   # 2/sqrt(pi) e^(-x^2)


# ----- Piecewise: clip, roundings, sign ------------------------------------------------------------

class Clip(Function):
    """np.clip(x, lo, hi) with constant bounds (None: no bound); the gradient passes where
    lo <= x <= hi, as PyTorch's clamp."""
    __slots__ = ()
    def forward(self, x, lo=None, hi=None): return np.clip(x, lo, hi)
    def backward(self, grad, out, x, lo=None, hi=None):
        inside = (True if lo is None else x >= lo) & (True if hi is None else x <= hi)
        return (np.where(inside, grad, 0),)


_ROUNDINGS = {"floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc}


class Rounding(Function):
    """floor, ceil, round (half to even, as torch.round) or trunc, by `mode`; the gradient is zero
    everywhere, as torch's (its jumps have no derivative and it is flat elsewhere)."""
    __slots__ = ()
    def forward(self, x, mode):
        if mode not in _ROUNDINGS:
            raise TypeError(f"rounding: mode must be one of {sorted(_ROUNDINGS)}, got {mode!r}")
        return _ROUNDINGS[mode](x)
    def backward(self, grad, out, x, mode): return (grad * 0,)


class Sign(Function):
    """-1, 0 or 1; zero gradient, as torch's."""
    __slots__ = ()
    def forward(self, x): return np.sign(x)
    def backward(self, grad, out, x): return (grad * 0,)


# ----- Running sums and products ------------------------------------------------------------------

class Cumsum(Function):
    """Running sums along `axis`, from the end when `reverse`; backward is the running sum the other way."""
    __slots__ = ()
    def forward(self, x, axis, reverse=False):
        if x.ndim == 0:
            return x.copy()
        if reverse:
            return np.flip(np.cumsum(np.flip(x, axis), axis), axis)
        return np.cumsum(x, axis)
    def backward(self, grad, out, x, axis, reverse=False): return (_run(Cumsum, grad, axis=axis, reverse=not reverse),)


class Prod(Function):
    """The product over `axis` (None: all; ints or a tuple), keepdims as numpy's. Each element's
    derivative is the product of the others, right with zeros too (as torch): the product with the
    zeros replaced by 1 at a slice's only zero, 0 elsewhere in a slice with a zero, and out / x in a
    slice without one. The zero masks are constants, so second derivatives are exact without zeros."""
    __slots__ = ()
    def forward(self, x, axis=None, keepdims=False): return np.prod(x, axis=axis, keepdims=keepdims)
    def backward(self, grad, out, x, axis=None, keepdims=False):
        if not keepdims and axis is not None:
            grad = np.expand_dims(grad, axis)
        zero = x == 0                                            # a plain mask, even on Tensors
        count = zero.sum(axis=axis, keepdims=True)
        x1 = np.where(zero, 1, x)
        p1 = _run(Prod, x1, axis=axis, keepdims=True)            # the product of the nonzero elements
        others = np.where(zero, p1 * (count == 1).astype(x.dtype), p1 / x1 * (count == 0).astype(x.dtype))
        return (grad * others,)


# ----- Gather and its adjoint -----------------------------------------------------------------------
# torch.gather(x, dim, index): out[i][j][k] = x[index[i][j][k]][j][k] for dim 0, and so on; index has
# x's ndim and sizes at most x's off the axis. As numpy fancy indexing: open grids on every axis but one.

def _gather_index(name, shape, axis, index):
    """The numpy index of gather(x of `shape`, axis, index), after checking index as torch does."""
    if not isinstance(index, np.ndarray) or index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer array (int64), got "
                        f"{getattr(index, 'dtype', type(index).__name__)}")
    ndim = len(shape)
    if ndim == 0:
        raise RuntimeError(f"{name}: the input must have at least one dim (reshape a 0-d one to (1,))")
    if index.ndim != ndim:
        raise RuntimeError(f"{name}: index must have as many dims as the input ({ndim}), got shape {index.shape}")
    if not -ndim <= axis < ndim:
        raise RuntimeError(f"{name}: dim {axis} is out of range for {ndim} dims")
    axis %= ndim
    for d, (n, m) in enumerate(zip(index.shape, shape)):
        if d != axis and n > m:
            raise RuntimeError(f"{name}: index of shape {index.shape} is larger than the input's {shape} on dim {d}")
    if index.size and (index.min() < 0 or index.max() >= shape[axis]):
        raise RuntimeError(f"{name}: index out of range for dim {axis} of size {shape[axis]} "
                           f"(got values from {index.min()} to {index.max()})")
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[axis] = index
    return tuple(grids)


class Gather(Function):
    """torch.gather(x, axis, index); backward scatter-adds the gradient into zeros of x's shape."""
    __slots__ = ()
    def forward(self, x, axis, index):
        where = _gather_index("gather", x.shape, axis, index)
        return x[where]
    def backward(self, grad, out, x, axis, index): return (_run(ScatterAdd, grad, axis=axis, index=index, shape=x.shape),)


class ScatterAdd(Function):
    """Zeros of `shape` with values (index's shape) added at index along axis, repeats accumulating
    (np.add.at; torch's zeros(shape).scatter_add(axis, index, values)); backward gathers."""
    __slots__ = ()
    def forward(self, values, axis, index, shape):
        shape = tuple(shape)
        where = _gather_index("scatter_add", shape, axis, index)
        if np.shape(values) != index.shape:
            raise RuntimeError(f"scatter_add: values of shape {np.shape(values)} must have index's shape {index.shape}")
        out = np.zeros_like(values, shape=shape)
        np.add.at(out, where, values)
        return out
    def backward(self, grad, out, values, axis, index, shape): return (_run(Gather, grad, axis=axis, index=index),)


# ----- Dtype --------------------------------------------------------------------------------------

class Cast(Function):
    """x in another floating dtype (t.double(), t.to(tg.float32)); the gradient goes back in x's dtype."""
    __slots__ = ()
    def forward(self, x, dtype): return x.astype(dtype)
    def backward(self, grad, out, x, dtype): return (grad.astype(x.dtype),)
