"""The activation modules, torch.nn's: each calls its function (a Tensor method or nn.functional's),
and `extra_repr()` gives torch's text inside its repr's parentheses. torch's `inplace=True` is
accepted (and shown, as torch shows it); the result is a new tensor either way."""
import numpy as np

from .. import dtypes, functional as F
from . import Module, Parameter

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SiLU", "Softmax", "LogSoftmax", "GELU", "Softplus",
           "Hardtanh", "ReLU6", "Softsign", "Mish", "Hardsigmoid", "Hardswish", "LogSigmoid", "PReLU"]


def _inplace(inplace, first=True):
    return ("inplace=True" if first else ", inplace=True") if inplace else ""


class Sigmoid(Module):
    def forward(self, x): return x.sigmoid()


class Tanh(Module):
    def forward(self, x): return x.tanh()


class Softsign(Module):
    def forward(self, x): return F.softsign(x)


class LogSigmoid(Module):
    def forward(self, x): return F.logsigmoid(x)


class ReLU(Module):
    def __init__(self, inplace=False):
        self.inplace = inplace

    def forward(self, x): return x.relu()
    def extra_repr(self): return _inplace(self.inplace)


class SiLU(ReLU):
    def forward(self, x): return F.silu(x)


class Mish(ReLU):
    def forward(self, x): return F.mish(x)


class Hardsigmoid(Module):
    def __init__(self, inplace=False):          # (torch shows no options for this one)
        self.inplace = inplace

    def forward(self, x): return F.hardsigmoid(x)


class Hardswish(Hardsigmoid):
    def forward(self, x): return F.hardswish(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x): return F.leaky_relu(x, self.negative_slope)
    def extra_repr(self): return f"negative_slope={self.negative_slope}{_inplace(self.inplace, False)}"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x): return F.elu(x, self.alpha)
    def extra_repr(self): return f"alpha={self.alpha}{_inplace(self.inplace, False)}"


class GELU(Module):
    """x Phi(x), exact (through erf) or with approximate="tanh"."""
    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x): return F.gelu(x, self.approximate)
    def extra_repr(self): return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold."""
    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x): return F.softplus(x, self.beta, self.threshold)
    def extra_repr(self): return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val]."""
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        if not max_val > min_val:
            raise ValueError(f"{type(self).__name__}: max_val ({max_val}) must be above min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x): return F.hardtanh(x, self.min_val, self.max_val)
    def extra_repr(self): return f"min_val={self.min_val}, max_val={self.max_val}{_inplace(self.inplace, False)}"


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self): return _inplace(self.inplace)


class PReLU(Module):
    """x where x > 0, else a x, with a learnable slope a (one, or one per channel), starting at init."""
    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        dtypes.check_device("PReLU", device)
        dtype = dtypes.as_dtype("PReLU", dtype)
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype))

    def forward(self, x): return F.prelu(x, self.weight)
    def extra_repr(self): return f"num_parameters={self.num_parameters}"


class Softmax(Module):
    def __init__(self, dim=None):
        self.dim = dim

    def forward(self, x): return F.softmax(x, self.dim)
    def extra_repr(self): return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x): return F.log_softmax(x, self.dim)
