"""torch.nn.init: fill a parameter in place, under no_grad, and return it. The random ones draw from
`generator=` (a tg.Generator or a numpy Generator), by default from the default generator, so
tg.manual_seed makes an initialization reproducible. Their numbers are numpy's; their distributions
and bounds are torch's:

    uniform_(t, a, b)           U(a, b)
    normal_(t, mean, std)       N(mean, std^2)
    constant_(t, val), ones_, zeros_
    eye_(t), dirac_(t, groups)  the identity matrix; the identity convolution (kernels 1 at the centre)
    xavier_uniform_(t, gain)    U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))   (Glorot 2010)
    xavier_normal_(t, gain)     N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_(t, a, mode, nonlinearity)
                                U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)
    kaiming_normal_(t, a, mode, nonlinearity)
                                N(0, std^2), std = gain / sqrt(fan)                              (He 2015)
    trunc_normal_(t, mean, std, a, b)   N(mean, std^2) conditioned on [a, b]
    orthogonal_(t, gain)        gain * Q of the QR of a Gaussian matrix, signs fixed by R's diagonal (Saxe 2013)
    sparse_(t, sparsity, std)   N(0, std^2) with a fraction sparsity of each column zero

fan_in and fan_out are torch's: a weight (out, in, *kernel) has fan_in = in * prod(kernel) and
fan_out = out * prod(kernel).
"""
import math
import numbers
import warnings

import numpy as np

from .. import random
from ..engine import special
from ..engine.tensor import Tensor, no_grad

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The gain torch recommends for a nonlinearity: 1 for linear layers and sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + negative_slope^2)) for leaky_relu (slope `param`, default 0.01),
    3/4 for selu."""
    if nonlinearity in _LINEAR_GAIN:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{', '.join(_LINEAR_GAIN)}, tanh, relu, leaky_relu, selu")


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _calculate_fan_in_and_fan_out(tensor):
    shape = _check("fan_in_and_fan_out", tensor).shape
    if len(shape) < 2:
        raise ValueError(f"Fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, "
                         f"got shape {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check(where, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor to fill in place, got {type(tensor).__name__}")
    return tensor


def _fill(tensor, values):
    """Write values into the tensor's own array (optimizers and tied layers keep pointing at it)."""
    with no_grad():
        tensor.data[...] = values
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with numbers drawn from U(a, b)."""
    _check("uniform_", tensor)
    rng = random.generator_argument("uniform_", generator)
    return _fill(tensor, rng.uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with numbers drawn from N(mean, std^2)."""
    _check("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    rng = random.generator_argument("normal_", generator)
    return _fill(tensor, rng.normal(mean, std, tensor.shape))


def constant_(tensor, val):
    """Fill with val."""
    return _fill(_check("constant_", tensor), val)


def ones_(tensor):
    """Fill with ones."""
    return _fill(_check("ones_", tensor), 1)


def zeros_(tensor):
    """Fill with zeros."""
    return _fill(_check("zeros_", tensor), 0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot/Xavier uniform: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check("xavier_uniform_", tensor))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot/Xavier normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check("xavier_normal_", tensor))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming(where, tensor, a, mode, nonlinearity):
    """The gain / sqrt(fan) both kaiming inits scale by, or None for a zero-element tensor (torch warns)."""
    _check(where, tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    if tensor.data.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He/Kaiming uniform: U(-bound, bound), bound = calculate_gain(nonlinearity, a) * sqrt(3 / fan), fan
    being fan_in (mode="fan_in", keeping the forward pass's variance) or fan_out (the backward pass's)."""
    std = _kaiming("kaiming_uniform_", tensor, a, mode, nonlinearity)
    return tensor if std is None else uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He/Kaiming normal: N(0, std^2), std = calculate_gain(nonlinearity, a) / sqrt(fan)."""
    std = _kaiming("kaiming_normal_", tensor, a, mode, nonlinearity)
    return tensor if std is None else normal_(tensor, 0.0, std, generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) conditioned on [a, b] (a and b are values, not numbers of std): every draw
    outside is drawn again, so the values are exactly the truncated normal's."""
    _check("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    if std < 0:
        raise ValueError(f"trunc_normal_: std must be >= 0, got {std}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    rng = random.generator_argument("trunc_normal_", generator)
    if std == 0:
        return _fill(tensor, np.clip(mean, a, b))
    lo, hi = (a - mean) / std, (b - mean) / std
    if _normal_cdf(hi) - _normal_cdf(lo) < 0.05:   # far in a tail: the inverse distribution function, by bisection
        values = _inverse_normal_cdf(rng.uniform(_normal_cdf(lo), _normal_cdf(hi), tensor.shape), lo, hi)
    else:                                  # redraw the rejected ones until none is left
        values = rng.standard_normal(tensor.shape)
        outside = (values < lo) | (values > hi)
        while outside.any():
            values[outside] = rng.standard_normal(int(outside.sum()))
            outside = (values < lo) | (values > hi)
    return _fill(tensor, np.clip(mean + std * values, a, b))


def _erf(x):
    return special.erf(np.asarray(x, np.float64))


def _normal_cdf(z):
    return 0.5 * (1 + _erf(np.asarray(z) / math.sqrt(2)))


def _inverse_normal_cdf(u, lo, hi):
    """The z in [lo, hi] with Phi(z) = u, elementwise, by 64 halvings of [lo, hi] (exact to rounding)."""
    left, right = np.full(np.shape(u), max(lo, -40.0)), np.full(np.shape(u), min(hi, 40.0))
    for _ in range(64):
        middle = 0.5 * (left + right)
        below = _normal_cdf(middle) < u
        left, right = np.where(below, middle, left), np.where(below, right, middle)
    return 0.5 * (left + right)


def eye_(tensor):
    """The identity matrix (ones on the diagonal of a 2-D tensor, zeros elsewhere)."""
    if _check("eye_", tensor).ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """The identity convolution: a 3-, 4- or 5-D weight (out, in, *kernel) with 1 at the kernel's centre
    for out channel d (in each of the groups) and in channel d, so that a conv keeps its input's channels."""
    shape = _check("dirac_", tensor).shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape {tuple(shape)}")
    if shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    per_group = shape[0] // groups
    values = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            values[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix times gain, the tensor seen as (rows, everything else): Q of the QR
    decomposition of a Gaussian matrix, each column's sign set by R's diagonal (torch's recipe)."""
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = random.generator_argument("orthogonal_", generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std^2) in a 2-D tensor, then ceil(sparsity * rows) elements of each column, picked at random, zero."""
    if _check("sparse_", tensor).ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    rows, cols = tensor.shape
    rng = random.generator_argument("sparse_", generator)
    values = rng.normal(0.0, std, (rows, cols))
    zeros = math.ceil(sparsity * rows)
    for col in range(cols):
        values[rng.permutation(rows)[:zeros], col] = 0
    return _fill(tensor, values)


__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_",
           "orthogonal_", "sparse_"]
