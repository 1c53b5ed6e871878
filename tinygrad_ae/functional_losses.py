"""The losses of torch.nn.functional, with torch's options, built from Tensor ops (no backward code here).

functional.py imports every name, so each is `F.<name>` (and `nn.functional.<name>`). With their default
options the lecture's losses go through the fused primitives of the table (SquaredErrorSum,
BCEWithLogitsSum, SoftmaxCrossEntropySum), the hot path of the benchmarks; an option (weights,
`pos_weight`, `ignore_index` in use, `label_smoothing`, K-dim inputs, probabilities as targets) takes
the composed path, whose values and gradients are torch's. Class weights and ignored positions are
constants (torch does not differentiate them either); BCE's `weight` and `pos_weight` may be tensors in
the graph. For the losses whose third argument in torch is `weight`, a string there is still read as
the reduction (this package's earlier spelling, F.cross_entropy(x, y, "sum")).
"""
import warnings

import numpy as np

from .engine import numerics, ops
from .engine.functions import where
from .engine.tensor import Tensor, apply

# "batchmean" (PyTorch's name, from kl_div) sums over all elements and divides by the batch size,
# the first dimension: the lecture's (1/m) sum_i sum_j normalization of the autoencoder's loss.
_REDUCTIONS = ("mean", "sum", "none", "batchmean")
_TORCH_REDUCTIONS = ("mean", "sum", "none")


def _check_pair(op, pred, target):
    if type(target) is not Tensor:
        target = Tensor(np.asarray(target, dtype=pred.dtype))
    if pred.shape != target.shape:
        raise ValueError(f"{op}: input shape {pred.shape} and target shape {target.shape} differ; "
                         "pass a target of the same shape")
    return target


def _check_reduction(op, reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def _scale(reduction, data):
    """The factor that turns a sum into the requested reduction."""
    if reduction == "sum":
        return 1.0
    count = data.size if reduction == "mean" else (len(data) if data.ndim else 1)
    return 1.0 / count if count else float("nan")   # the mean of nothing is nan, as in PyTorch


def _reduce(loss, reduction):
    """The elementwise loss, or its sum scaled to the reduction."""
    return loss if reduction == "none" else loss.sum() * _scale(reduction, loss.data)


def _loss(name, a, target, reduction, elementwise, fused_sum=None):
    """The shared frame of the three losses: check the arguments, then the elementwise loss ("none"),
    or its sum scaled to the reduction, fused into one primitive where the table has one."""
    _check_reduction(name, reduction)
    target = _check_pair(name, a, target)
    if reduction == "none":
        return elementwise(a, target)
    scale = _scale(reduction, a.data)
    if fused_sum is None:
        return elementwise(a, target).sum() * scale
    return apply(fused_sum, a, target, scale=scale)


def _weight_or_reduction(weight, reduction):
    return (None, weight) if isinstance(weight, str) else (weight, reduction)


def _elementwise_weight(op, name, weight, input):
    """A weight broadcastable to input's shape: a Tensor stays one (it may be in the graph)."""
    w = weight if type(weight) is Tensor else Tensor(np.asarray(weight, dtype=input.dtype))
    try:
        shape = np.broadcast_shapes(w.shape, input.shape)
    except ValueError:
        shape = None
    if shape != input.shape:
        raise ValueError(f"{op}: {name} of shape {w.shape} does not broadcast to the input's shape {input.shape}")
    return w


# ----- regression losses -------------------------------------------------------------------------

def mse_loss(pred, target, reduction="mean"):
    """(pred - target)^2, averaged over all elements ("mean"), summed ("sum"), summed and divided by
    the batch size ("batchmean", the lecture's normalization) or kept elementwise ("none")."""
    return _loss("mse_loss", pred, target, reduction, lambda p, t: (p - t) ** 2, ops.SquaredErrorSum)


def l1_loss(pred, target, reduction="mean"):
    """|pred - target|, averaged, summed or per element (torch's F.l1_loss); gradient sign(pred - target)."""
    _check_reduction("l1_loss", reduction, _TORCH_REDUCTIONS)
    out = (pred - _check_pair("l1_loss", pred, target)).abs()
    return out if reduction == "none" else out.sum() if reduction == "sum" else out.mean()


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002 (torch's names)
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, with d = input - target (torch's
    F.smooth_l1_loss); beta=0 is the L1 loss."""
    _check_reduction("smooth_l1_loss", reduction, _TORCH_REDUCTIONS)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0 (torch has no negative beta), got {beta}")
    d = input - _check_pair("smooth_l1_loss", input, target)
    size = d.abs()
    loss = size if beta == 0 else where(size < beta, d * d * (0.5 / beta), size - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (torch's F.huber_loss: delta times
    smooth_l1_loss with beta=delta)."""
    _check_reduction("huber_loss", reduction, _TORCH_REDUCTIONS)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    d = input - _check_pair("huber_loss", input, target)
    size = d.abs()
    return _reduce(where(size < delta, d * d * 0.5, (size - 0.5 * delta) * delta), reduction)


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    """target (log target - input) pointwise, input being log-probabilities (torch's F.kl_div); the
    target is probabilities, or log-probabilities with log_target=True. A zero target adds 0.
    "batchmean" (the KL divergence's definition) divides the sum by the batch size; "mean" by the
    number of elements, with torch's warning."""
    _check_reduction("kl_div", reduction)
    target = _check_pair("kl_div", input, target)
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides only by the batch size, as the KL divergence's definition "
                      "(torch's warning too)", UserWarning, stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:   # xlogy(t, t) - t input: t log t is 0 at t = 0 (and nan below, as torch's)
        zero = target == 0
        loss = target * where(zero, 1.0, target).log() - target * input
    return _reduce(loss, reduction)


# ----- binary classification ---------------------------------------------------------------------

def binary_cross_entropy(prob, target, weight=None, reduction="mean"):
    """-(x log p + (1 - x) log(1 - p)) on probabilities, each log clamped at -100 as PyTorch does;
    weight (broadcast to the input's shape) multiplies each element's loss."""
    weight, reduction = _weight_or_reduction(weight, reduction)
    if weight is None:
        return _loss("binary_cross_entropy", prob, target, reduction,
                     lambda p, t: apply(ops.BinaryCrossEntropy, p, t))
    _check_reduction("binary_cross_entropy", reduction)
    target = _check_pair("binary_cross_entropy", prob, target)
    w = _elementwise_weight("binary_cross_entropy", "weight", weight, prob)
    return _reduce(apply(ops.BinaryCrossEntropy, prob, target) * w, reduction)


def binary_cross_entropy_with_logits(logits, target, weight=None, reduction="mean", pos_weight=None):
    """Cross-entropy of sigmoid(logits) against target, computed from the logits: never log(0).
    pos_weight (broadcast along the last dim, one per class) weighs the positive term:
    (1 - x) a + (1 + (pos_weight - 1) x) softplus(-a), finite at any |a|; weight multiplies each loss."""
    weight, reduction = _weight_or_reduction(weight, reduction)
    name = "binary_cross_entropy_with_logits"
    if weight is None and pos_weight is None:
        return _loss(name, logits, target, reduction, lambda a, t: a.softplus() - t * a, ops.BCEWithLogitsSum)
    _check_reduction(name, reduction)
    target = _check_pair(name, logits, target)
    if pos_weight is None:
        loss = logits.softplus() - target * logits
    else:
        pw = _elementwise_weight(name, "pos_weight", pos_weight, logits)
        loss = (1 - target) * logits + ((pw - 1) * target + 1) * (-logits).softplus()
    if weight is not None:
        loss = loss * _elementwise_weight(name, "weight", weight, logits)
    return _reduce(loss, reduction)


# ----- classes: nll_loss, cross_entropy ----------------------------------------------------------

def _class_targets(op, logits, target, ignore_index=-100):
    """(target, ignored): target as an integer array of shape (N, d1, ...) for logits (N, C, d1, ...)
    (or 0-d for logits (C,)), every class in 0..C-1 except where it is ignore_index; ignored is the
    mask of those positions, or None when there are none (the fast paths' case)."""
    if type(logits) is not Tensor:
        raise TypeError(f"{op}: logits must be a Tensor, got {type(logits).__name__}")
    if logits.ndim == 0:
        raise ValueError(f"{op}: logits must have shape (N, C), (N, C, d1, ...) or (C,), got a 0-d tensor")
    if isinstance(target, Tensor):              # an integer tensor (tg.tensor([3, 1])) is its labels
        if target.data.dtype.kind not in "iu":
            raise TypeError(f"{op}: target must hold integer class indices, got a tensor of dtype {target.dtype}; "
                            "pass target.long() or an integer array")
        target = target.data
    target = np.asanyarray(target)             # (an argument of a captured step stays traced)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}; "
                        "pass labels.astype(int)")
    expected = logits.shape[:1] + logits.shape[2:] if logits.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(f"{op}: logits of shape {logits.shape} need a target of shape {expected} "
                         f"(one class per row{', the class dim 1 left out' if logits.ndim > 2 else ''}), "
                         f"got shape {target.shape}")
    classes, ignored = logits.shape[1 if logits.ndim >= 2 else 0], None
    if target.size and (target.min() < 0 or target.max() >= classes or 0 <= ignore_index < classes):
        mask = target == ignore_index
        if mask.any():
            ignored = mask
        valid = target[~mask]
        if valid.size and (valid.min() < 0 or valid.max() >= classes):
            bad = valid.min() if valid.min() < 0 else valid.max()
            raise ValueError(f"{op}: target holds class {bad} but the logits have {classes} classes; "
                             f"classes are 0..{classes - 1}" + (f" (or ignore_index, {ignore_index})"
                                                                 if ignore_index != -100 else ""))
    return target, ignored


def _class_weight(op, weight, logits):
    """weight as a constant array of C entries in the logits' dtype (None: no weight)."""
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=logits.dtype)
    classes = logits.shape[1 if logits.ndim >= 2 else 0]
    if w.shape != (classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({classes},), got shape {w.shape}")
    return w


def _along_classes(w, ndim):
    """A per-class array shaped to broadcast along the class dim of an ndim input."""
    return w.reshape((-1,) + (1,) * (ndim - 2)) if ndim >= 2 else w


def _nll(logp, target, weight, ignored, reduction):
    """-weight[t] logp[t] per position (0 where ignored), its sum, or its weighted mean: the sum over
    the weights of the positions not ignored (torch's nll_loss)."""
    axis = 1 if logp.ndim >= 2 else 0
    safe = target if ignored is None else np.where(ignored, 0, target)
    picked = apply(ops.Gather, logp, axis=axis, index=np.expand_dims(safe, axis)).reshape(target.shape)
    w = np.ones(target.shape, logp.dtype) if weight is None else weight[safe]
    if ignored is not None:
        w = w * ~ignored
    loss = -(picked * w) if weight is not None or ignored is not None else -picked
    if reduction == "none":
        return loss, None
    total = float(w.sum())
    return _weighted_mean(loss.sum(), reduction, total), total


def _weighted_mean(total_loss, reduction, total_weight):
    """The sum, or the sum over total_weight: nan when that is 0 (every position ignored), with a zero
    gradient, as torch's."""
    if reduction == "sum":
        return total_loss
    return total_loss * (1.0 / total_weight) if total_weight else total_loss * 0.0 + float("nan")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """-input[i, target[i]] per position (input: log-probabilities, e.g. log_softmax's, of shape
    (N, C), (N, C, d1, ...) or (C,)), torch's F.nll_loss: weight[c] weighs class c, and the mean is
    over the weights; positions whose target is ignore_index count for nothing."""
    weight, reduction = _weight_or_reduction(weight, reduction)
    _check_reduction("nll_loss", reduction, _TORCH_REDUCTIONS)
    target, ignored = _class_targets("nll_loss", input, target, ignore_index)
    weight = _class_weight("nll_loss", weight, input)
    if weight is None and ignored is None and input.ndim <= 2:
        picked = -(input[numerics.cached_arange(target.size), target] if input.ndim == 2 else input[target])
        return picked if reduction == "none" else picked.sum() if reduction == "sum" else picked.mean()
    return _nll(input, target, weight, ignored, reduction)[0]


def _probability_targets(op, logits, target):
    """Whether target is class probabilities (same shape as the logits), torch's rule; they must be floats."""
    shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if type(logits) is not Tensor or tuple(shape) != logits.shape:
        return False
    dtype = target.data.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
    if dtype.kind != "f":
        raise TypeError(f"{op}: a target of the input's shape {logits.shape} is class probabilities and must "
                        f"be floating point, got dtype {dtype}; for class indices, leave out the class dim")
    return True


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """-log softmax(logits)[target] per position, as PyTorch's F.cross_entropy: logits (N, C),
    (N, C, d1, ...) or (C,); target class indices (with nll_loss's weight and ignore_index) or class
    probabilities of the logits' shape; label_smoothing mixes the target with the uniform distribution.
    With the defaults and (N, C) logits, one fused primitive whose backward is the closed form
    softmax(logits) - one_hot(target) (see ops.SoftmaxCrossEntropySum)."""
    weight, reduction = _weight_or_reduction(weight, reduction)
    _check_reduction("cross_entropy", reduction, _TORCH_REDUCTIONS)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if _probability_targets("cross_entropy", logits, target):
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported for probabilities as targets "
                             "(as in torch); leave it at -100")
        return _cross_entropy_probabilities(logits, target, _class_weight("cross_entropy", weight, logits),
                                            reduction, label_smoothing)
    target, ignored = _class_targets("cross_entropy", logits, target, ignore_index)
    weight = _class_weight("cross_entropy", weight, logits)
    if weight is None and ignored is None and label_smoothing == 0 and logits.ndim <= 2:
        if reduction == "none":
            rows = numerics.cached_arange(target.size).reshape(target.shape)
            return -logits.log_softmax(-1)[(rows, target) if logits.ndim == 2 else (target,)]
        scale = 1.0 if reduction == "sum" else (1.0 / target.size if target.size else float("nan"))
        return apply(ops.SoftmaxCrossEntropySum, logits, target=target, scale=scale)
    axis = 1 if logits.ndim >= 2 else 0
    logp = logits.log_softmax(axis)
    loss, total = _nll(logp, target, weight, ignored, reduction)
    if label_smoothing == 0:
        return loss
    # the uniform part: -sum_c w_c logp_c per position, reduced as nll_loss reduces (torch's formula)
    smooth = -(logp if weight is None else logp * _along_classes(weight, logits.ndim)).sum(axis)
    if ignored is not None:
        smooth = smooth * ~ignored
    if reduction != "none":
        smooth = _weighted_mean(smooth.sum(), reduction, total)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / logits.shape[axis])


def _cross_entropy_probabilities(logits, target, weight, reduction, label_smoothing):
    """-sum_c w_c t_c log softmax(logits)_c per position; "mean" divides by the positions (N d1 ...),
    not by the weights (torch's rule for probabilities). A target Tensor stays in the graph."""
    axis = 1 if logits.ndim >= 2 else 0
    classes = logits.shape[axis]
    t = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=logits.dtype))
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + label_smoothing / classes
    terms = logits.log_softmax(axis) * t
    if weight is not None:
        terms = terms * _along_classes(weight, logits.ndim)
    loss = -terms.sum(axis)
    if reduction == "none":
        return loss
    positions = logits.data.size // classes if classes else 0
    return loss.sum() * (1.0 if reduction == "sum" else 1.0 / positions if positions else float("nan"))
