"""The loss modules, torch.nn's: each holds its `reduction` and calls its function in nn.functional.

`MSELoss`, `L1Loss`, `BCELoss`, `BCEWithLogitsLoss`, `CrossEntropyLoss` and `NLLLoss` take torch's arguments; the ones this
framework does not compute yet (weights, `pos_weight`, `ignore_index`, `label_smoothing`) are refused
with a clear error rather than ignored, so a port never trains on a different objective silently.
"""
from .. import functional as F
from . import Module

_REDUCTIONS = ("mean", "sum", "none")
__all__ = ["MSELoss", "L1Loss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]


class _Loss(Module):
    def __init__(self, reduction="mean"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def __repr__(self):
        return f"{type(self).__name__}()" if self.reduction == "mean" else f"{type(self).__name__}(reduction={self.reduction!r})"


def _refuse(owner, name, value, default=None):
    if (value is not None) if default is None else (value != default):   # (a Tensor is never compared)
        raise NotImplementedError(f"{owner}: {name}={value!r} is not supported yet (issue 20); "
                                  f"leave it at its default, {default!r}")


class MSELoss(_Loss):
    """torch.nn.MSELoss: the mean (or sum, or elementwise) squared difference."""
    def forward(self, input, target): return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """torch.nn.L1Loss: the mean (or sum, or elementwise) absolute difference."""
    def forward(self, input, target): return F.l1_loss(input, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """torch.nn.NLLLoss: minus the log-probability of each row's class."""
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        _refuse("NLLLoss", "weight", weight)
        _refuse("NLLLoss", "ignore_index", ignore_index, -100)
        super().__init__(reduction)

    def forward(self, input, target): return F.nll_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """torch.nn.BCELoss: binary cross-entropy on probabilities (each log clamped at -100, as torch's)."""
    def __init__(self, weight=None, reduction="mean"):
        _refuse("BCELoss", "weight", weight)
        super().__init__(reduction)

    def forward(self, input, target): return F.binary_cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """torch.nn.BCEWithLogitsLoss: binary cross-entropy from logits, in the stable form."""
    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        _refuse("BCEWithLogitsLoss", "weight", weight)
        _refuse("BCEWithLogitsLoss", "pos_weight", pos_weight)
        super().__init__(reduction)

    def forward(self, input, target): return F.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """torch.nn.CrossEntropyLoss: softmax cross-entropy against integer class labels."""
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        _refuse("CrossEntropyLoss", "weight", weight)
        _refuse("CrossEntropyLoss", "ignore_index", ignore_index, -100)
        _refuse("CrossEntropyLoss", "label_smoothing", label_smoothing, 0.0)
        super().__init__(reduction)

    def forward(self, input, target): return F.cross_entropy(input, target, reduction=self.reduction)
