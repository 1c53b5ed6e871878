"""The loss modules, torch.nn's: each holds its options and calls its function in nn.functional
(functional_losses.py), with torch's arguments and defaults. A weight or pos_weight given as a Tensor
(or None) is a buffer, in the state dict as torch's; as torch's, a loss's repr shows no options.
"""
from .. import functional as F
from ..engine.tensor import Tensor
from . import Module

_REDUCTIONS = ("mean", "sum", "none")
__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss"]


class _Loss(Module):
    def __init__(self, reduction="mean", allowed=_REDUCTIONS):
        if reduction not in allowed:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {allowed}, got {reduction!r}")
        self.reduction = reduction

    def _weights(self, **weights):
        """Keep each weight: a Tensor or None as a buffer (torch's), anything else (an array) as it is."""
        for name, value in weights.items():
            if value is None or isinstance(value, Tensor):
                self.register_buffer(name, value)
            else:
                setattr(self, name, value)


class MSELoss(_Loss):
    """torch.nn.MSELoss: the mean (or sum, or elementwise) squared difference."""
    def forward(self, input, target): return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """torch.nn.L1Loss: the mean (or sum, or elementwise) absolute difference."""
    def forward(self, input, target): return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """torch.nn.SmoothL1Loss: quadratic below beta, linear above (F.smooth_l1_loss)."""
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target): return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """torch.nn.HuberLoss: quadratic below delta, delta times linear above (F.huber_loss)."""
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target): return F.huber_loss(input, target, self.reduction, self.delta)


class KLDivLoss(_Loss):
    """torch.nn.KLDivLoss: the KL divergence of the target from exp(input) (F.kl_div); "batchmean"
    is the divergence's definition, "mean" (torch's default) divides by every element."""
    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction, _REDUCTIONS + ("batchmean",))
        self.log_target = log_target

    def forward(self, input, target): return F.kl_div(input, target, self.reduction, self.log_target)


class NLLLoss(_Loss):
    """torch.nn.NLLLoss: minus the log-probability of each position's class, weighted per class."""
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self._weights(weight=weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """torch.nn.BCELoss: binary cross-entropy on probabilities (each log clamped at -100, as torch's)."""
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self._weights(weight=weight)

    def forward(self, input, target): return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """torch.nn.BCEWithLogitsLoss: binary cross-entropy from logits, in the stable form; pos_weight
    weighs the positive examples of each class."""
    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self._weights(weight=weight, pos_weight=pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class CrossEntropyLoss(_Loss):
    """torch.nn.CrossEntropyLoss: softmax cross-entropy against class indices or probabilities."""
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self._weights(weight=weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)
