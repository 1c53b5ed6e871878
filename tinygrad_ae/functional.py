"""torch.nn.functional: composite ops, activations, padding, lookups and (from functional_losses.py)
the losses, built only from Tensor ops: no backward code lives here.

Every op is applied through `tensor.apply`. The fused losses are primitives of the derivative table
(ops.py) on purpose: their backward is the lecture's closed form, cheaper than the composed chain and
finite where it is not. Piecewise activations (hardtanh, hardsigmoid, hardswish) pick their branch
with a constant mask, so the gradient at a kink is torch's.
"""
import math

import numpy as np

from . import random
from .engine import numerics, ops
from .engine.functions import cat, where
from .engine.tensor import Tensor, apply, wrap
from .functional_losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                                huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)

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


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (torch's F.softplus: the
    switch is part of its value); log(1 + exp) is the table's primitive, stable at +-1000."""
    if beta == 1:
        return where(x > threshold, x, x.softplus())
    return where(x * beta > threshold, x, (x * beta).softplus() * (1.0 / beta))


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x (torch's F.leaky_relu; inplace is accepted, the result is new)."""
    return where(x > 0, x, x * float(negative_slope))


def elu(x, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (exp(x) - 1), through expm1 of min(x, 0): no overflow in the unused branch."""
    return where(x > 0, x, x.clamp(max=0.0).expm1() * float(alpha))


def silu(x, inplace=False):
    """x sigmoid(x) (torch's F.silu, also called swish)."""
    return x * x.sigmoid()


def gelu(x, approximate="none"):
    """x Phi(x), Phi the standard normal's distribution function: x (1 + erf(x / sqrt 2)) / 2, or with
    approximate="tanh" x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (torch's F.gelu)."""
    if approximate == "none":
        return x * ((x * (1 / math.sqrt(2))).erf() + 1) * 0.5
    if approximate == "tanh":
        return x * (((x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)).tanh() + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _between(x, lo, hi):
    return (x.data > lo) & (x.data < hi)            # a constant mask: the branch a gradient flows through


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]; the gradient passes strictly inside, as torch's."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be above max_val ({max_val})")
    return where(_between(x, min_val, max_val), x, np.clip(x.data, min_val, max_val))


def relu6(x, inplace=False):
    """min(max(x, 0), 6): hardtanh(x, 0, 6)."""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x, inplace=False):
    """x / 6 + 1/2 between -3 and 3, 0 below, 1 above."""
    return where(_between(x, -3.0, 3.0), x * (1 / 6) + 0.5, (x.data >= 3).astype(x.dtype))


def hardswish(x, inplace=False):
    """x (x + 3) / 6 strictly between -3 and 3, 0 from -3 down, x from 3 up (torch's branches: the gradient
    at -3 is 0 and at 3 is 1)."""
    return where(x.data <= -3, 0.0, where(x.data < 3, x * (x + 3) * (1 / 6), x))


def softsign(x):
    """x / (1 + |x|)."""
    return x / (x.abs() + 1)


def mish(x, inplace=False):
    """x tanh(softplus(x)) (Misra 2019)."""
    return x * x.softplus().tanh()


def logsigmoid(x):
    """log sigmoid(x) = -softplus(-x), finite at +-1000."""
    return -(-x).softplus()


def prelu(x, weight):
    """x where x > 0, else weight x, weight having one entry or one per channel (dim 1)."""
    if weight.data.size != 1:
        if x.ndim < 2 or weight.shape != (x.shape[1],):
            raise ValueError(f"prelu: weight of shape {weight.shape} needs one entry, or one per channel "
                             f"(dim 1) of the input of shape {x.shape}")
        weight = weight.reshape((-1,) + (1,) * (x.ndim - 2))
    else:
        weight = weight.reshape(())
    return where(x.data > 0, x, x * weight)


def linear(x, weight, bias=None):
    """x @ weight.T + bias (PyTorch's F.linear), one primitive: see ops.Linear."""
    try:
        return apply(ops.Linear, x, weight, bias)       # (bias None: an absent input)
    except ValueError:
        raise ValueError(f"linear: input shape {np.shape(x)} does not fit weight shape {weight.shape} "
                         f"(expected {weight.shape[1]} features in the input's last dimension)") from None


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


def dropout(x, p=0.5, training=True, rng=None, *, inplace=False):
    """PyTorch's dropout: in training, each element is zeroed with probability p and the survivors
    are scaled by 1/(1 - p), so the expected value is unchanged; outside training, x itself.
    rng: a Generator (numpy's or tg's) or a seed to draw the mask from; None: the default generator.
    (A bool in rng's place is torch's fourth argument, inplace; the result is a new tensor either way.)"""
    if isinstance(rng, bool):
        rng = None
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: dropout probability has to be between 0 and 1, but got {p!r}")
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


# ----- vectors, padding, lookups ------------------------------------------------------------------

def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002 (torch's names)
    """input / max(||input||_p, eps) along dim (torch's F.normalize). For p = 2 the clamp is put on the
    squared norm, so that a zero vector's gradient is finite (1/eps, as torch's) rather than 0 * inf."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    if p == 2:
        return input / (input * input).sum(dim, keepdim=True).clamp(min=eps * eps).sqrt()
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along dim, x1 and x2 broadcast together; as
    torch, each vector is divided by its norm first and the clamp does not enter the gradient."""
    shape = np.broadcast_shapes(x1.shape, x2.shape)          # broadcast first, as torch: the norms are of that shape

    def unit(x):
        x = x if x.shape == shape else x.broadcast_to(shape)
        norm = x.norm(2, dim, keepdim=True)
        return x / (norm + (np.maximum(norm.data, eps) - norm.data))     # + 0 unless the norm is below eps
    return (unit(x1) * unit(x2)).sum(dim)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(mode, n, left, right):
    """The source positions of a dim of size n padded by left and right (>= 0) in a non-constant mode."""
    if mode == "reflect":
        if left >= n or right >= n:
            raise ValueError(f"pad: reflect padding ({left}, {right}) must be smaller than the dim's size {n}")
        return np.concatenate([np.arange(left, 0, -1), np.arange(n), np.arange(n - 2, n - 2 - right, -1)])
    if mode == "replicate":
        if n == 0:
            raise ValueError("pad: replicate padding needs a dim of size at least 1")
        return np.concatenate([np.zeros(left, np.int64), np.arange(n), np.full(right, n - 1)])
    if left > n or right > n:
        raise ValueError(f"pad: circular padding ({left}, {right}) may not wrap around a dim of size {n} "
                         "more than once")
    return np.arange(-left, n + right) % n


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """torch's F.pad: pad = (left, right) for the last dim, then (top, bottom) for the one before, and
    so on; negative entries crop. mode "constant" fills with value (default 0) on any dims;
    "reflect", "replicate" and "circular" take 1 to 3 dims of a (batch, channel)-led input, as torch's."""
    if len(pad) % 2:
        raise ValueError(f"pad: padding length must be divisible by 2, got {len(pad)} entries {tuple(pad)}")
    dims = len(pad) // 2
    if dims > input.ndim:
        raise ValueError(f"pad: {len(pad)} padding entries pad {dims} dims, but the input of shape {input.shape} "
                         f"has {input.ndim}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; use one of {_PAD_MODES}")
    if mode != "constant":
        if value is not None:
            raise ValueError(f"pad: padding mode {mode!r} does not take a value")
        if dims not in (1, 2, 3) or input.ndim not in (dims + 1, dims + 2):
            raise NotImplementedError(f"pad: padding size {len(pad)} is not supported for a {input.ndim}-D input in "
                                      f"mode {mode!r}; pad k dims (k = 1, 2, 3) of a (k+1)-D or (k+2)-D input")
    x = input
    for i in range(dims):
        axis, left, right = x.ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])
        lead = (slice(None),) * axis
        n = x.shape[axis]
        if left < 0 or right < 0:                   # crop first: torch's negative padding
            x = x[lead + (slice(max(-left, 0), n - max(-right, 0)),)]
            left, right, n = max(left, 0), max(right, 0), x.shape[axis]
        if not (left or right):
            continue
        if mode == "constant":
            def block(width):
                shape = x.shape[:axis] + (width,) + x.shape[axis + 1:]
                return Tensor(np.full(shape, 0 if value is None else value, x.dtype))
            x = cat([block(left), x, block(right)], axis)
        else:
            x = x[lead + (_pad_index(mode, n, left, right),)]
    return x


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,  # noqa: A002
              sparse=False):
    """The rows of weight (num_embeddings, embedding_dim) at the integer indices of input (torch's
    F.embedding): shape input.shape + (embedding_dim,). The row padding_idx receives no gradient."""
    for name, given in (("max_norm", max_norm is not None), ("scale_grad_by_freq", scale_grad_by_freq),
                        ("sparse", sparse)):
        if given:
            raise NotImplementedError(f"embedding: {name} is not supported; leave it at its default")
    indices = input.data if isinstance(input, Tensor) else np.asanyarray(input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: the indices must be an integer tensor (torch's Long or Int), got dtype "
                        f"{indices.dtype}; pass input.long()")
    if type(weight) is not Tensor or weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    rows = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise IndexError(f"embedding: index {bad} is out of range for {rows} embeddings (indices are 0..{rows - 1})")
    out = weight[indices]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({rows})")
        padding = indices == padding_idx % rows
        if padding.any():                               # the padding row's value, cut off from the gradient
            out = where(padding[..., None], weight.data[padding_idx], out)
    return out
from .functional_conv import *  # noqa: E402,F401,F403
