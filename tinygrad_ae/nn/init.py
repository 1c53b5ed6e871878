"""torch.nn.init: fill a parameter in place, under no_grad, and return it. The random ones draw from
`generator=` (a tg.Generator or a numpy Generator), by default from the default generator, so
tg.manual_seed makes an initialization reproducible. Their numbers are numpy's; their distributions
and bounds are torch's:

    uniform_(t, a, b)           U(a, b)
    normal_(t, mean, std)       N(mean, std^2)
    constant_(t, val), ones_, zeros_
    xavier_uniform_(t, gain)    U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))   (Glorot 2010)
    kaiming_uniform_(t, a, mode, nonlinearity)
                                U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)

fan_in and fan_out are torch's: a weight (out, in, *kernel) has fan_in = in * prod(kernel) and
fan_out = out * prod(kernel).
"""
import math
import numbers
import warnings

from .. import random
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


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He/Kaiming uniform: U(-bound, bound), bound = calculate_gain(nonlinearity, a) * sqrt(3 / fan), fan
    being fan_in (mode="fan_in", keeping the forward pass's variance) or fan_out (the backward pass's)."""
    _check("kaiming_uniform_", tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    if tensor.data.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / (fan_in if mode == "fan_in" else fan_out))
    return uniform_(tensor, -bound, bound, generator)


__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "xavier_uniform_",
           "kaiming_uniform_"]
