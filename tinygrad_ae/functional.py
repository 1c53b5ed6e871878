"""Composite ops and the public losses, built only from Tensor ops: no backward code lives here.

Every op is applied through `tensor.apply`. The fused losses are primitives of the derivative table
(ops.py) on purpose: their backward is the lecture's closed form, cheaper than the composed chain and
finite where it is not.
"""
import numpy as np

from . import random
from .engine import numerics, ops
from .engine.functions import where
from .engine.tensor import Tensor, apply, wrap

# "batchmean" (PyTorch's name, from kl_div) sums over all elements and divides by the batch size,
# the first dimension: the lecture's (1/m) sum_i sum_j normalization of the autoencoder's loss.
_REDUCTIONS = ("mean", "sum", "none", "batchmean")


# ----- composites ------------------------------------------------------------------------------

def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Sum divided by the number of elements reduced over (dim=/keepdim=, or numpy's axis=/keepdims=)."""
    return x.mean(dim, keepdim, axis=axis, keepdims=keepdims)


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def abs(x):  # noqa: A001 (the PyTorch name)
    """|x|, with gradient sign(x) (0 at 0, as in PyTorch)."""
    return x.abs()


def sqrt(x):
    return x.sqrt()


def softplus(x):
    """log(1 + exp(x)), stable at +-1000 (a primitive: see ops.Softplus)."""
    return x.softplus()


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x (torch's F.leaky_relu; inplace is accepted, the result is new)."""
    return where(x > 0, x, x * float(negative_slope))


def elu(x, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (exp(x) - 1), through expm1 of min(x, 0): no overflow in the unused branch."""
    return where(x > 0, x, x.clamp(max=0.0).expm1() * float(alpha))


def silu(x, inplace=False):
    """x sigmoid(x) (torch's F.silu, also called swish)."""
    return x * x.sigmoid()


def linear(x, weight, bias=None):
    """x @ weight.T + bias (PyTorch's F.linear), one primitive: see ops.Linear."""
    try:
        return apply(ops.Linear, x, weight, bias)       # (bias None: an absent input)
    except ValueError:
        raise ValueError(f"linear: input shape {np.shape(x)} does not fit weight shape {weight.shape} "
                         f"(expected {weight.shape[1]} features in the input's last dimension)") from None


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
    return 1.0 / count if count else float("nan")   # the mean of nothing is nan, as in PyTorch


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


def mse_loss(pred, target, reduction="mean"):
    """(pred - target)^2, averaged over all elements ("mean"), summed ("sum"), summed and divided by
    the batch size ("batchmean", the lecture's normalization) or kept elementwise ("none")."""
    return _loss("mse_loss", pred, target, reduction, lambda p, t: (p - t) ** 2, ops.SquaredErrorSum)


def l1_loss(pred, target, reduction="mean"):
    """|pred - target|, averaged, summed or per element (torch's F.l1_loss); gradient sign(pred - target)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"l1_loss: reduction must be one of ('mean', 'sum', 'none'), got {reduction!r}")
    out = (pred - _check_pair("l1_loss", pred, target)).abs()
    return out if reduction == "none" else out.sum() if reduction == "sum" else out.mean()


def nll_loss(input, target, reduction="mean"):
    """-input[i, target[i]] per row (input: log-probabilities, e.g. log_softmax's), torch's F.nll_loss."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"nll_loss: reduction must be one of ('mean', 'sum', 'none'), got {reduction!r}")
    target = _class_targets("nll_loss", input, target)
    picked = -(input[numerics.cached_arange(target.size), target] if input.ndim == 2 else input[target])
    return picked if reduction == "none" else picked.sum() if reduction == "sum" else picked.mean()


def binary_cross_entropy(prob, target, reduction="mean"):
    """-(x log p + (1 - x) log(1 - p)) on probabilities, each log clamped at -100 as PyTorch does."""
    return _loss("binary_cross_entropy", prob, target, reduction,
                 lambda p, t: apply(ops.BinaryCrossEntropy, p, t))


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Cross-entropy of sigmoid(logits) against target, computed from the logits: never log(0)."""
    return _loss("binary_cross_entropy_with_logits", logits, target, reduction,
                 lambda a, t: softplus(a) - t * a, ops.BCEWithLogitsSum)


# ----- classification and dropout ---------------------------------------------------------------

def _softmax_dim(dim, axis):
    """F.softmax's dim (numpy's axis= too; neither: the last dimension)."""
    if dim is not None and axis is not None:
        raise TypeError("softmax: pass dim or axis (numpy's name for it), not both")
    return -1 if dim is None and axis is None else (dim if dim is not None else axis)


def softmax(x, dim=None, dtype=None, *, axis=None):
    """exp(x) / sum(exp(x)) along dim (default: the last), shifted by the max so that it is finite at +-1000."""
    x = x if dtype is None else x.to(dtype)
    return ops.softmax(x, _softmax_dim(dim, axis))


def log_softmax(x, dim=None, dtype=None, *, axis=None):
    """x - log(sum(exp(x))) along dim (default: the last), computed from x - max(x) (a constant shift:
    the value does not depend on it), so that it is finite at +-1000."""
    x, axis = (x if dtype is None else x.to(dtype)), _softmax_dim(dim, axis)
    shifted = x - np.max(x.data, axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis, keepdim=True).log()


def _class_targets(op, logits, target):
    """target as an integer array of shape logits.shape[:-1], every class in 0..C-1."""
    if type(logits) is not Tensor:
        raise TypeError(f"{op}: logits must be a Tensor, got {type(logits).__name__}")
    if logits.ndim not in (1, 2):
        raise ValueError(f"{op}: logits must have shape (N, C) or (C,), got shape {logits.shape}")
    if isinstance(target, Tensor):              # an integer tensor (tg.tensor([3, 1])) is its labels
        if target.data.dtype.kind not in "iu":
            raise TypeError(f"{op}: target must hold integer class indices, got a tensor of dtype {target.dtype}; "
                            "pass target.long() or an integer array")
        target = target.data
    target = np.asanyarray(target)             # (an argument of a captured step stays traced)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}; "
                        "pass labels.astype(int)")
    if target.shape != logits.shape[:-1]:
        raise ValueError(f"{op}: logits of shape {logits.shape} need a target of shape {logits.shape[:-1]} "
                         f"(one class per row), got shape {target.shape}")
    classes = logits.shape[-1]
    if target.size and (target.min() < 0 or target.max() >= classes):
        bad = target.min() if target.min() < 0 else target.max()
        raise ValueError(f"{op}: target holds class {bad} but the logits have {classes} classes; "
                         f"classes are 0..{classes - 1}")
    return target


def cross_entropy(logits, target, reduction="mean"):
    """-log softmax(logits)[target] per row, with integer class targets, as PyTorch's
    F.cross_entropy: averaged over rows ("mean"), summed ("sum") or per row ("none"). Backward is the
    closed form softmax(logits) - one_hot(target) (see ops.SoftmaxCrossEntropySum)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be one of ('mean', 'sum', 'none'), got {reduction!r}")
    target = _class_targets("cross_entropy", logits, target)
    if reduction == "none":
        rows = numerics.cached_arange(target.size).reshape(target.shape)
        return -log_softmax(logits)[(rows, target) if logits.ndim == 2 else (target,)]
    scale = 1.0 if reduction == "sum" else (1.0 / target.size if target.size else float("nan"))
    return apply(ops.SoftmaxCrossEntropySum, logits, target=target, scale=scale)


def dropout(x, p=0.5, training=True, rng=None):
    """PyTorch's dropout: in training, each element is zeroed with probability p and the survivors
    are scaled by 1/(1 - p), so the expected value is unchanged; outside training, x itself.
    rng: a Generator (numpy's or tg's) or a seed to draw the mask from; None: the default generator."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros(x.shape, x.dtype)
    keep = random.draw(random.numpy_generator(rng), "random", x.shape, np.float64) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(x.dtype)


def one_hot(tensor, num_classes=-1):
    """torch's F.one_hot: an int64 tensor of shape tensor.shape + (num_classes,), 1 at each label's class;
    num_classes=-1 takes one more than the largest label. The labels must be an integer tensor."""
    labels = tensor.data if isinstance(tensor, Tensor) else None
    if labels is None or labels.dtype.kind not in "iu":
        got = f"a tensor of dtype {labels.dtype}" if labels is not None else type(tensor).__name__
        raise TypeError(f"one_hot: the labels must be an integer tensor (e.g. torch.tensor([0, 2]) or x.long()), got {got}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if labels.size and labels.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {labels.min()}")
    classes = int(labels.max()) + 1 if num_classes == -1 and labels.size else int(num_classes)
    if classes < 0 or (labels.size and labels.max() >= classes):
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({classes}), got {labels.max()}")
    return wrap(numerics.one_hot(labels, classes, np.int64))
