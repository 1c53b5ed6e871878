"""Composite ops and the public losses, built only from Tensor ops: no backward code lives here.

The two fused losses call primitives from the derivative table (ops.py) on purpose: their backward
is the lecture's closed form, cheaper than the composed chain and finite where it is not.
"""
import numpy as np

from . import ops
from .tensor import Tensor, _wrap

# "batchmean" (PyTorch's name, from kl_div) sums over all elements and divides by the batch size,
# the first dimension: the lecture's (1/m) sum_i sum_j normalization of the autoencoder's loss.
_REDUCTIONS = ("mean", "sum", "none", "batchmean")


# ----- composites ------------------------------------------------------------------------------

def mean(x, axis=None, keepdims=False):
    """Sum divided by the number of elements reduced over."""
    if axis is None:
        count = x.data.size
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        count = int(np.prod([x.shape[a] for a in axes]))
    return x.sum(axis=axis, keepdims=keepdims) * (1.0 / count)


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def abs(x):  # noqa: A001 (the PyTorch name)
    """|x| as x * sign(x) with sign(x) a constant: gradient sign(x), 0 at 0 as in PyTorch."""
    return x * np.sign(x.data)


def softplus(x):
    """log(1 + exp(x)), stable at +-1000 (a primitive: see ops.Softplus)."""
    return x.softplus()


def linear(x, weight, bias=None):
    """x @ weight.T + bias (PyTorch's F.linear), one primitive: see ops.Linear."""
    if type(x) is not Tensor:
        x = Tensor(x)
    ctx = ops.Linear()
    try:
        if bias is None:
            inputs, data = (x, weight), ctx.forward(x.data, weight.data)
        else:
            inputs, data = (x, weight, bias), ctx.forward(x.data, weight.data, bias.data)
    except ValueError:
        raise ValueError(f"linear: input shape {x.shape} does not fit weight shape {weight.shape} "
                         f"(expected {weight.shape[1]} features in the input's last dimension)") from None
    requires_grad = x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
    return _wrap(data, ctx, inputs, requires_grad)


# ----- losses (PyTorch's names and semantics) --------------------------------------------------

def _check_pair(op, pred, target):
    if type(target) is not Tensor:
        target = Tensor(np.asarray(target, dtype=pred.dtype))
    if pred.shape != target.shape:
        raise ValueError(f"{op}: input shape {pred.shape} and target shape {target.shape} differ; "
                         "pass a target of the same shape")
    return target


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _scale(reduction, data):
    """The factor that turns a sum into the requested reduction."""
    if reduction == "sum":
        return 1.0
    count = data.size if reduction == "mean" else (len(data) if data.ndim else 1)
    return 1.0 / max(count, 1)


def _fused(fn_class, a, b, scale):
    ctx = fn_class()
    return _wrap(ctx.forward(a.data, b.data, scale), ctx, (a, b), a.requires_grad or b.requires_grad)


def _loss(name, fn_class, a, target, reduction, elementwise):
    """The shared frame of the three losses: check the arguments, then either the elementwise loss
    composed from Tensor ops ("none") or the fused primitive scaled to the reduction."""
    _check_reduction(name, reduction)
    target = _check_pair(name, a, target)
    if reduction == "none":
        return elementwise(a, target)
    return _fused(fn_class, a, target, _scale(reduction, a.data))


def mse_loss(pred, target, reduction="mean"):
    """(pred - target)^2, averaged over all elements ("mean"), summed ("sum"), summed and divided by
    the batch size ("batchmean", the lecture's normalization) or kept elementwise ("none")."""
    return _loss("mse_loss", ops.SquaredErrorSum, pred, target, reduction,
                 lambda p, t: (p - t) ** 2)


def binary_cross_entropy(prob, target, reduction="mean"):
    """-(x log p + (1 - x) log(1 - p)) on probabilities, each log clamped at -100 as PyTorch does."""
    return _loss("binary_cross_entropy", ops.BCESum, prob, target, reduction,
                 lambda p, t: -(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p)))


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Cross-entropy of sigmoid(logits) against target, computed from the logits: never log(0)."""
    return _loss("binary_cross_entropy_with_logits", ops.BCEWithLogitsSum, logits, target, reduction,
                 lambda a, t: softplus(a) - t * a)


def _clamped_log(p):
    """log(p) with values below -100 replaced by -100 (gradient 0 there), composed from Tensor ops."""
    with np.errstate(divide="ignore"):
        log_p = p.log()
    keep = log_p.data > -100
    return log_p * keep + (-100.0) * (~keep)
