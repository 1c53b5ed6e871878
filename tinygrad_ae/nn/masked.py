"""torch-style masked layers: `MaskedLinear` (MADE)."""
import numpy as np

from . import Linear
from .. import functional as F
from ..engine.tensor import Tensor

__all__ = ["MaskedLinear"]


class MaskedLinear(Linear):
    """y = x @ (W * M).T + b: a Linear whose weight is multiplied by a fixed 0/1 mask M of W's shape
    (out_features, in_features). Output unit i sees input j only where M[i, j] = 1, and the masked
    weights get a zero gradient. M is a buffer (`mask`, in the state dict, as in Karpathy's pytorch-made);
    None (the default) is all ones until set_mask() gives one."""

    def __init__(self, in_features, out_features, bias=True, mask=None, device=None, dtype=None, rng=None):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype, rng=rng)
        self.register_buffer("mask", Tensor(np.ones((self.out_features, self.in_features), self.weight.dtype)))
        if mask is not None:
            self.set_mask(mask)

    def set_mask(self, mask):
        """Copy the 0/1 array (or Tensor) `mask` of shape (out_features, in_features) into the layer's mask."""
        array = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
        shape = (self.out_features, self.in_features)
        if array.shape != shape:
            raise ValueError(f"MaskedLinear.set_mask: the mask must have the weight's shape {shape} "
                             f"(out_features, in_features), got {array.shape}")
        if array.dtype.kind not in "biuf" or not np.isin(array, (0, 1)).all():
            raise ValueError("MaskedLinear.set_mask: the mask must hold only 0 and 1 (or False and True)")
        self.mask.data[...] = array
        return self

    __call__ = Linear.__call__

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input with {self.in_features} features in its last dimension, "
                             f"got shape {tuple(x.shape)}")
        return F.linear(x, self.weight * self.mask, self.bias)
