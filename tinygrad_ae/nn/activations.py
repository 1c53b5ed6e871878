"""The activation modules, torch.nn's: each calls its function (a Tensor method or nn.functional's).
torch's `inplace=True` is accepted; the result is a new tensor either way."""
from .. import functional as F
from . import Module

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SiLU", "Softmax", "LogSoftmax"]


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    def __init__(self, inplace=False):          # (torch's inplace=True is accepted: the result is new either way)
        pass

    def forward(self, x):
        return x.relu()


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        self.negative_slope = negative_slope

    def forward(self, x): return F.leaky_relu(x, self.negative_slope)
    def __repr__(self): return f"LeakyReLU(negative_slope={self.negative_slope})"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        self.alpha = alpha

    def forward(self, x): return F.elu(x, self.alpha)
    def __repr__(self): return f"ELU(alpha={self.alpha})"


class SiLU(Module):
    def __init__(self, inplace=False):
        pass

    def forward(self, x): return F.silu(x)


class Softmax(Module):
    def __init__(self, dim=None):
        self.dim = dim

    def forward(self, x): return F.softmax(x, self.dim)
    def __repr__(self): return f"Softmax(dim={self.dim})"


class LogSoftmax(Softmax):
    def forward(self, x): return F.log_softmax(x, self.dim)
    def __repr__(self): return f"LogSoftmax(dim={self.dim})"
