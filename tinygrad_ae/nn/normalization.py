"""torch.nn's normalization layers: `BatchNorm1d`, `BatchNorm2d`.

As torch's (2.x, whose keyword-only bias=False drops the bias): weight (ones) and bias (zeros) when
affine; the buffers `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (an int64 0-d tensor) when track_running_stats, so
the state dict has torch's keys. Training normalizes with the batch's statistics and updates the
running ones (momentum None: their cumulative average, 1/num_batches_tracked); eval uses the running
ones, or the batch's if they are not tracked.
"""
import numpy as np

from .. import dtypes, functional_pool as FP
from ..engine.tensor import Tensor, wrap
from . import Module

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    ndims = ()                  # the input ranks accepted

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive integer, got {num_features!r}")
        if device is not None:
            dtypes.check_device(name, device)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(name, dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a floating type such as torch.float32, got {dtype}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Tensor(np.ones(num_features, dtype), requires_grad=True, name="weight")
            self.bias = Tensor(np.zeros(num_features, dtype), requires_grad=True, name="bias") if bias else None
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", wrap(np.array(0, np.int64)))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def forward(self, input):  # noqa: A002 (torch's name)
        name = type(self).__name__
        shape = getattr(input, "shape", None)
        if shape is None or len(shape) not in self.ndims:
            got = f"a {type(input).__name__}" if shape is None else f"{len(shape)}D input of shape {tuple(shape)}"
            raise ValueError(f"{name}: expected {' or '.join(f'{d}D' for d in self.ndims)} input (got {got})")
        if shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels in dim 1, got input of shape "
                             f"{tuple(shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1       # (in place: the state dict's array stays the same)
            if self.momentum is None:
                factor = np.divide(1.0, self.num_batches_tracked.data)   # (no float(): a capture traces it)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return FP.batch_norm(input, self.running_mean if keep else None, self.running_var if keep else None,
                             self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """torch.nn.BatchNorm1d: (N, C) or (N, C, L), statistics per channel C."""
    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """torch.nn.BatchNorm2d: (N, C, H, W), statistics per channel C."""
    ndims = (4,)
