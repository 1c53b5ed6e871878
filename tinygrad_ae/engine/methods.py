"""Tensor's named methods, with torch's names and meanings, kept out of tensor.py so the engine stays short.

They are written in a class body used as a namespace and installed on Tensor with setattr when this
module is imported (engine/__init__.py imports it, so every `import tinygrad_ae` has them). Imports go
one way: this module imports tensor, never the reverse. Every method is a primitive of the table
through `apply`, or a composite of them, so each one is differentiable to any order; masks, indices
and roundings carry no gradient (a rounding keeps the graph with a zero gradient, as torch's does).
Reductions take torch's dim=/keepdim= and numpy's axis=/keepdims= alike; dim may be an int or a tuple.
"""
import collections
import math
import numbers

import numpy as np

from .. import dtypes
from . import arguments, ops
from .shapes import ShapeMethods, check_dim
from .tensor import Tensor, apply, wrap


# what max(dim) and min(dim) return, as torch.return_types.max / .min
max_result = collections.namedtuple("max", ("values", "indices"))
min_result = collections.namedtuple("min", ("values", "indices"))


def _dim(where, dim, axis):
    """dim= or numpy's axis= (not both) as the reductions take it: None, an int or a tuple of ints."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{where}: pass dim or axis (numpy's name for it), not both")
        dim = axis
    if dim is None or type(dim) is int:
        return dim
    if isinstance(dim, (bool, float)) or not isinstance(dim, (numbers.Integral, tuple, list)):
        raise TypeError(f"{where}: dim must be an int or a tuple of ints, got {type(dim).__name__} {dim!r:.40}")
    return arguments.axis(dim)


def _zero_gradient(x, values):
    """values (an array of x's shape and dtype) as a tensor whose gradient with respect to x is zero,
    as torch's roundings (round(decimals=)): still in the graph (backward gives zeros)."""
    if not x.requires_grad:
        return wrap(values)
    return apply(ops.Where, values, x, condition=True)


class TensorMethods:
    """A namespace: every function and property below becomes an attribute of Tensor."""

    # ----- elementwise: primitives, and composites of them ------------------------------------------
    def exp(self): return apply(ops.Exp, self)
    def log(self): return apply(ops.Log, self)
    def sqrt(self): return apply(ops.Sqrt, self)
    def sigmoid(self): return apply(ops.Sigmoid, self)
    def tanh(self): return apply(ops.Tanh, self)
    def relu(self): return apply(ops.ReLU, self)
    def softplus(self): return apply(ops.Softplus, self)
    def neg(self): return apply(ops.Neg, self)
    negative = neg
    def sin(self): return apply(ops.Sin, self)
    def cos(self): return apply(ops.Cos, self)
    def square(self): return apply(ops.Mul, self, self)
    def reciprocal(self): return apply(ops.Div, 1.0, self)
    def rsqrt(self): return apply(ops.Div, 1.0, apply(ops.Sqrt, self))
    def log2(self): return apply(ops.Log, self) * (1 / math.log(2))
    def log10(self): return apply(ops.Log, self) * (1 / math.log(10))
    def log1p(self): return apply(ops.Log1p, self)
    def expm1(self): return apply(ops.Expm1, self)
    def erf(self): return apply(ops.Erf, self)

    def abs(self):
        """|x| as x * sign(x) with sign(x) a constant: gradient sign(x), 0 at 0 as in PyTorch."""
        return self * np.sign(self.data)

    absolute = abs

    def pow(self, exponent):
        """self ** exponent: a number exponent is the table's Pow. A tensor exponent that needs no
        gradient is Pow once per distinct value (negative bases and 0 ** 0 as torch, the base's dtype
        kept); one that requires grad is exp(e log x), for a positive base (torch's d/de = x**e log x)."""
        if type(exponent) is not Tensor:
            return apply(ops.Pow, self, exponent=arguments.exponent(exponent))
        if exponent.requires_grad:
            return apply(ops.Exp, exponent * apply(ops.Log, self))
        values = exponent.data
        out = None
        for k in np.unique(values):
            term = apply(ops.Pow, self, exponent=k.item())
            term = term if values.size == 1 else apply(ops.Where, term, 0.0, condition=values == k)
            out = term if out is None else out + term
        return out if out is not None else self * np.ones(values.shape, self.dtype)

    def sign(self): return apply(ops.Sign, self) if self.data.dtype.kind == "f" else wrap(np.sign(self.data))
    sgn = sign
    def floor(self): return self._round("floor")
    def ceil(self): return self._round("ceil")
    def trunc(self): return self._round("trunc")
    fix = trunc

    def round(self, decimals=0):
        """To the nearest integer, halves to even (torch's and numpy's rule); decimals= as torch."""
        if decimals and self.data.dtype.kind == "f":
            return _zero_gradient(self, np.round(self.data, decimals))
        return self._round("round")

    def _round(self, mode):
        return self if self.data.dtype.kind != "f" else apply(ops.Rounding, self, mode=mode)

    def clamp(self, min=None, max=None):  # noqa: A002 (torch's keywords)
        """Values limited to [min, max]: numbers (the table's Clip: the gradient passes where
        min <= x <= max) or tensors (elementwise maximum and minimum); None: no bound."""
        if min is None and max is None:
            raise ValueError("clamp (clip): at least one of min and max must not be None")
        if type(min) is Tensor or type(max) is Tensor:
            out = self if min is None else apply(ops.Maximum, self, min)
            return out if max is None else apply(ops.Minimum, out, max)
        lo, hi = arguments.clip_bounds(min, max)
        return apply(ops.Clip, self, lo=lo, hi=hi)

    clip = clamp
    def clamp_min(self, min): return self.clamp(min=min)  # noqa: A002
    def clamp_max(self, max): return self.clamp(max=max)  # noqa: A002

    # ----- arithmetic as methods ----------------------------------------------------------------------
    def add(self, other, *, alpha=1): return apply(ops.Add, self, other if alpha == 1 else other * alpha)
    def sub(self, other, *, alpha=1): return apply(ops.Sub, self, other if alpha == 1 else other * alpha)
    subtract = sub
    def mul(self, other): return apply(ops.Mul, self, other)
    multiply = mul

    def div(self, other, *, rounding_mode=None):
        out = apply(ops.Div, self, other)
        if rounding_mode is None:
            return out
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        return out.trunc() if rounding_mode == "trunc" else out.floor()

    divide = true_divide = div

    def matmul(self, other): return apply(ops.MatMul, self, other)

    def mm(self, other): return self._matmul_of("mm", other, 2, "2-D matrices")
    def bmm(self, other): return self._matmul_of("bmm", other, 3, "3-D batches of matrices")
    def dot(self, other): return self._matmul_of("dot", other, 1, "1-D vectors")

    def _matmul_of(self, where, other, ndim, what):
        if type(other) is not Tensor or self.ndim != ndim or other.ndim != ndim:
            raise RuntimeError(f"{where}: expects two {what}, got shapes {self.shape} and {getattr(other, 'shape', type(other).__name__)}")
        if ndim == 3 and self.shape[0] != other.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ: shapes {self.shape} and {other.shape}")
        return apply(ops.MatMul, self, other)

    # ----- reductions ---------------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        out = apply(ops.Sum, self, axis=_dim("sum", dim, axis), keepdims=bool(keepdim or keepdims))
        return out if dtype is None else out.to(dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        """Sum divided by the number of elements reduced over."""
        axis = _dim("mean", dim, axis)
        count = arguments.reduced_count(self.shape, axis)
        out = self.sum(axis, keepdim or keepdims) * (1.0 / count if count else float("nan"))  # empty: nan
        return out if dtype is None else out.to(dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """The largest value; with an int dim, (values, indices) as torch's; a tensor: the elementwise
        maximum. Tied elements share the gradient equally."""
        return self._extreme("max", ops.Max, np.argmax, max_result, ops.Maximum, dim, keepdim or keepdims, axis)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return self._extreme("min", ops.Min, np.argmin, min_result, ops.Minimum, dim, keepdim or keepdims, axis)

    def _extreme(self, where, op, arg, result, elementwise, dim, keepdim, axis):
        if type(dim) is Tensor:
            return apply(elementwise, self, dim)
        dim = _dim(where, dim, axis)
        values = apply(op, self, axis=dim, keepdims=bool(keepdim))
        if type(dim) is not int:               # all elements, or a tuple of dims (numpy's): the values
            return values
        return result(values, wrap(arg(self.data, axis=dim, keepdims=bool(keepdim)).astype(np.int64)))

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return apply(ops.Max, self, axis=_dim("amax", None if dim == () else dim, axis), keepdims=bool(keepdim or keepdims))

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return apply(ops.Min, self, axis=_dim("amin", None if dim == () else dim, axis), keepdims=bool(keepdim or keepdims))

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """The index of the largest value (over all elements, flattened, or along dim): an int64 tensor."""
        return wrap(np.argmax(self.data, axis=_dim("argmax", dim, axis), keepdims=bool(keepdim or keepdims)).astype(np.int64))

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return wrap(np.argmin(self.data, axis=_dim("argmin", dim, axis), keepdims=bool(keepdim or keepdims)).astype(np.int64))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=False):
        """Sum of squared deviations from the mean over (count - correction); correction=1 (Bessel's)
        unless unbiased=False or correction= says otherwise, as torch's."""
        if isinstance(dim, bool):               # torch's var(unbiased)
            dim, unbiased = None, dim
        dim, keep = _dim("var", dim, axis), bool(keepdim or keepdims)
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        deviation = self - self.mean(dim, keepdim=True)
        count = arguments.reduced_count(self.shape, dim) - correction
        return (deviation * deviation).sum(dim, keep) * (1.0 / count if count > 0 else float("nan"))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=False):
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims).sqrt()

    def prod(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        """The product of the elements (along dim), right with zeros (the table's Prod)."""
        dim, keep = _dim("prod", dim, axis), bool(keepdim or keepdims)
        out = apply(ops.Prod, self, axis=dim, keepdims=keep)
        return out if dtype is None else out.to(dtype)

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along dim, computed from x - max(x) (a constant shift) so that it is finite."""
        dim = _dim("logsumexp", dim, None)
        shift = np.max(self.data, axis=dim, keepdims=True) if self.data.size else np.zeros((1,) * self.ndim, self.dtype)
        shift = np.where(np.isfinite(shift), shift, 0).astype(self.dtype)
        out = (self - shift).exp().sum(dim, keepdim=True).log() + shift
        return out if keepdim else out.squeeze(dim if dim is not None else tuple(range(self.ndim)))

    def cumsum(self, dim, *, dtype=None):
        """Running sums along dim (the table's Cumsum); integer tensors' in int64, as torch's."""
        d = check_dim("cumsum", self.ndim, dim)
        if self.data.dtype.kind != "f":
            out = wrap(np.cumsum(self.data, axis=d if self.ndim else None).reshape(self.shape))
        else:
            out = apply(ops.Cumsum, self, axis=d, reverse=False)
        return out if dtype is None else out.to(dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The p-norm over all elements or along dim: 'fro' and 2 the Euclidean one, inf the largest |x|."""
        dim = _dim("norm", dim, None)
        if p == "fro" or p == 2:
            return (self * self).sum(dim, keepdim).sqrt()
        if p in (math.inf, -math.inf):
            return (self.abs().amax if p > 0 else self.abs().amin)(dim, keepdim)
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise ValueError(f"norm: p must be a number, inf or 'fro', got {p!r}")
        if p == 1:
            return self.abs().sum(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    def all(self, dim=None, keepdim=False): return wrap(np.all(self.data, axis=_dim("all", dim, None), keepdims=keepdim))
    def any(self, dim=None, keepdim=False): return wrap(np.any(self.data, axis=_dim("any", dim, None), keepdims=keepdim))

    def softmax(self, dim):
        return ops.softmax(self, check_dim("softmax", self.ndim, dim))

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from ..random_factories import multinomial     # with the other draws, which build on the engine
        return multinomial(self, num_samples, replacement, generator=generator)

    def log_softmax(self, dim):
        dim = check_dim("log_softmax", self.ndim, dim)
        shifted = self - np.max(self.data, axis=dim, keepdims=True)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()


for _namespace in (TensorMethods, ShapeMethods):
    for _name, _value in list(vars(_namespace).items()):
        if not _name.startswith("__"):
            setattr(Tensor, _name, _value)
