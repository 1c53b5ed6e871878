"""torch.nn.functional's pooling, resampling and batch normalization, composed from the table's
primitives (no backward code here; functional_conv.py re-exports every name):

  * max_pool2d: the index of each window's maximum is found in numpy (a constant: torch's first
    maximum), and the output is x gathered there (the Index primitive), so the gradient goes to that
    element only, as torch's;
  * avg_pool2d, adaptive_avg_pool2d and interpolate: out = A_h x A_w^T with constant matrices that
    average or interpolate along one axis each (two MatMuls; a box window and torch's divisors are
    separable): every option's derivative is then the table's;
  * batch_norm: mean and biased variance over the batch and spatial dims (a composite), the
    running statistics updated in place with the unbiased variance, as torch.
"""
import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .engine import ops
from .engine.tensor import Tensor, apply, no_grad, wrap
from .functional_conv import tuple_of     # (functional_conv imports this module at its end)

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate", "upsample", "batch_norm"]


def _constant(make):
    """make(...) cached per arguments, read-only: the same array in every call, so a captured step
    (tg.compile) binds it as a constant, where a fresh array each call would make it run eagerly."""
    @functools.lru_cache(maxsize=256)
    def cached(*args):
        array = make(*args)
        array.flags.writeable = False
        return array
    cached.__doc__ = make.__doc__
    return cached


@_constant
def _filled(value, dtype):
    """A 0-d array of value: a fill a captured step reads as a constant, not a literal."""
    return np.array(value, dtype)


def _pair(name, what, value, least=0):
    return tuple_of(name, what, value, 2, least)


def _batched(name, x):
    if isinstance(x, np.ndarray):
        x = Tensor(x)
    if type(x) is not Tensor:
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _pool_geometry(name, x, kernel_size, stride, padding, dilation, ceil_mode):
    """kernel, stride, padding, dilation as pairs and the output's (Ho, Wo), checked as torch does."""
    kernel = _pair(name, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or stride == [] or stride == () else _pair(name, "stride", stride, 1)
    padding, dilation = _pair(name, "padding", padding), _pair(name, "dilation", dilation, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} should be at most half of the kernel size {kernel}")
    out = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        n = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (n - 1) * s >= size + p:    # the last window must start inside the input or left padding
            n -= 1
        if span < 0 or n < 1:
            raise ValueError(f"{name}: the kernel {kernel} (dilation {dilation}) is larger than the padded input "
                             f"(input shape {tuple(x.shape)}, padding {padding})")
        out.append(n)
    return kernel, stride, padding, dilation, tuple(out)


@functools.lru_cache(maxsize=256)
def _window_starts(n, c, ho, wo, sh, sw, ph, pw):
    """Each window's top-left (row, column), (Ho, 1) and (Wo,), and the batch and channel indices
    (N, 1, 1, 1) and (C, 1, 1): cached, read-only (see _constant)."""
    arrays = (np.arange(ho)[:, None] * sh - ph, np.arange(wo) * sw - pw, np.arange(n).reshape(n, 1, 1, 1),
              np.arange(c).reshape(c, 1, 1))
    for array in arrays:
        array.flags.writeable = False
    return arrays


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """torch's F.max_pool2d (padding counts as -inf); return_indices gives (output, indices into each
    H*W plane, int64) as torch's."""
    x, unbatched = _batched("max_pool2d", input)
    kernel, stride, padding, dilation, (ho, wo) = _pool_geometry("max_pool2d", x, kernel_size, stride, padding,
                                                                 dilation, ceil_mode)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    need_h, need_w = (ho - 1) * sh + dh * (kh - 1) + 1, (wo - 1) * sw + dw * (kw - 1) + 1
    data = x.data
    padded = (n, c, max(need_h, h + 2 * ph), max(need_w, w + 2 * pw))
    xp = np.full_like(data, _filled(-np.inf, data.dtype), shape=padded)
    xp[:, :, ph:ph + h, pw:pw + w] = data
    bn, bc, bh, bw = xp.strides
    # numpy's functions (not methods), subok views, one-output ufuncs: a captured step records each call
    windows = as_strided(xp, (n, c, ho, wo, kh, kw), (bn, bc, sh * bh, sw * bw, dh * bh, dw * bw), writeable=False,
                         subok=True)
    arg = np.argmax(np.reshape(windows, (n, c, ho, wo, kh * kw)), axis=-1)   # the first maximum (NaN wins)
    i, j = arg // kw, arg % kw
    first_row, first_col, batch, channel = _window_starts(n, c, ho, wo, sh, sw, ph, pw)
    row, col = (first_row + i * dh).astype(np.int64), (first_col + j * dw).astype(np.int64)
    out = apply(ops.Index, x, index=(batch, channel, row, col))     # (no reshape: x may be a strided view)
    plane = row * w + col                                           # torch's indices: within each H*W plane
    if unbatched:
        out, plane = out.reshape(out.shape[1:]), plane[0]
    return (out, wrap(plane)) if return_indices else out


@_constant
def _average_matrix(size, k, s, p, n, count_include_pad, scale, dtype, transposed=False):
    """(n, size): row a averages window a of avg_pool2d along one axis, [a s - p, a s - p + k) cut to
    the input (padding adds zeros), divided by torch's count (the padding counted or not; with
    divisor_override, `scale` instead). A box window is separable: A_h x A_w^T is the 2-D pool."""
    start = np.arange(n) * s - p
    end = np.minimum(start + k, size + p)                  # (ceil_mode's last window stops at the padding)
    counts = end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    a = inside * (scale if scale is not None else 1.0 / counts[:, None])
    return np.ascontiguousarray(a.T if transposed else a, dtype)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """torch's F.avg_pool2d: each window's mean, the padding counted unless count_include_pad=False."""
    x, unbatched = _batched("avg_pool2d", input)
    kernel, stride, padding, _, out_hw = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    # divisor_override: the rows' sums divided by that number (the columns' only summed)
    scales = (None, None) if divisor_override is None else (1.0 / float(divisor_override), 1.0)
    mats = [_average_matrix(size, k, s, p, o, bool(count_include_pad), scales[d], x.dtype, d == 1)
            for d, (size, k, s, p, o) in enumerate(zip(x.shape[2:], kernel, stride, padding, out_hw))]
    out = _along_last_two(x, *mats)
    return out.reshape(out.shape[1:]) if unbatched else out


@_constant
def _adaptive_matrix(size, n, dtype, transposed=False):
    """(n, size): row i averages torch's adaptive window [floor(i size/n), ceil((i+1) size/n))."""
    i = np.arange(n)
    start, end = (i * size) // n, -(-((i + 1) * size) // n)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    a = (inside / (end - start)[:, None]).astype(dtype)
    return np.ascontiguousarray(a.T) if transposed else a


def _along_last_two(x, a_h, a_w_t):
    """A_h x A_w^T for x (..., H, W) (a_w_t: A_w^T, or None), two matrix products with constants."""
    if a_h is not None:
        x = Tensor(a_h) @ x
    if a_w_t is not None:
        x = x @ Tensor(a_w_t)
    return x


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """torch's F.adaptive_avg_pool2d: output_size an int or a pair (None keeps that dim's size)."""
    x, unbatched = _batched("adaptive_avg_pool2d", input)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or 2 ints, got {output_size!r}")
    sizes = [x.shape[2 + i] if s is None else _pair("adaptive_avg_pool2d", "output_size", s, 1)[0]
             for i, s in enumerate(sizes)]
    (h, w), dtype = x.shape[2:], x.dtype
    out = _along_last_two(x, None if sizes[0] == h else _adaptive_matrix(h, sizes[0], dtype),
                          None if sizes[1] == w else _adaptive_matrix(w, sizes[1], dtype, True))
    return out.reshape(out.shape[1:]) if unbatched else out


_MODES = ("nearest", "nearest-exact", "linear", "bilinear")


@_constant
def _resample_matrix(mode, size, n, scale, align_corners, dtype, transposed=False):
    """(n, size): row i picks (nearest) or blends (linear) the input positions torch's mode uses."""
    i = np.arange(n, dtype=np.float64)
    a = np.zeros((n, size))
    if mode in ("nearest", "nearest-exact"):
        src = np.floor(i * scale) if mode == "nearest" else np.floor((i + 0.5) * scale)
        a[np.arange(n), np.minimum(src.astype(np.int64), size - 1)] = 1
        return np.ascontiguousarray(a.T if transposed else a, dtype)
    if align_corners:
        src = i * ((size - 1) / (n - 1)) if n > 1 else np.zeros(n)
    else:
        src = np.maximum((i + 0.5) * scale - 0.5, 0)
    lo = np.minimum(np.floor(src).astype(np.int64), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    np.add.at(a, (np.arange(n), lo), 1 - frac)
    np.add.at(a, (np.arange(n), hi), frac)
    return np.ascontiguousarray(a.T if transposed else a, dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """torch's F.interpolate for a (N, C, L) or (N, C, H, W) input: modes "nearest", "nearest-exact",
    "linear" (3-D) and "bilinear" (4-D), with size or scale_factor (one number or one per dim)."""
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of {_MODES}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if isinstance(input, np.ndarray):
        input = Tensor(input)
    if type(input) is not Tensor or input.ndim not in (3, 4):
        raise ValueError(f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) Tensor, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    dims = input.ndim - 2
    if mode in ("linear", "bilinear") and dims != (1 if mode == "linear" else 2):
        raise NotImplementedError(f"interpolate: mode {mode!r} expects a {3 if mode == 'linear' else 4}-D input, "
                                  f"got {input.ndim}-D")
    if mode.startswith("nearest") and align_corners is not None:
        raise ValueError("interpolate: align_corners is only for the linear modes; leave it None for nearest")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: pass exactly one of size and scale_factor")
    spatial = input.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
        if len(sizes) != dims or any(isinstance(s, bool) or int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"interpolate: size must be {dims} positive ints, got {size!r}")
        sizes = tuple(int(s) for s in sizes)
        scales = [i / o for i, o in zip(spatial, sizes)]
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * dims
        if len(factors) != dims or any(not f > 0 for f in factors):
            raise ValueError(f"interpolate: scale_factor must be {dims} positive numbers, got {scale_factor!r}")
        sizes = tuple(int(np.floor(i * float(f))) for i, f in zip(spatial, factors))
        # torch uses 1/scale_factor itself, unless asked to recompute it from the sizes
        scales = [i / o for i, o in zip(spatial, sizes)] if recompute_scale_factor else [1 / float(f) for f in factors]
    mats = [None if o == i and s == 1 else                      # (None: the same size, nothing to do)
            _resample_matrix(mode, i, o, s, bool(align_corners), input.dtype, d == dims - 1)
            for d, (i, o, s) in enumerate(zip(spatial, sizes, scales))]   # the last one transposed
    if dims == 1:
        return input if mats[0] is None else input @ Tensor(mats[0])
    return _along_last_two(input, *mats)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """torch's deprecated F.upsample: interpolate."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,  # noqa: A002
               eps=1e-5):
    """torch's F.batch_norm over dim 1 of an (N, C, ...) input: training normalizes with the batch's mean
    and biased variance (and updates the running ones in place, the variance unbiased); otherwise with
    running_mean and running_var."""
    if isinstance(input, np.ndarray):
        input = Tensor(input)
    if type(input) is not Tensor or input.ndim < 2:
        raise ValueError(f"batch_norm: expected an (N, C, ...) Tensor of at least 2 dims, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    c = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {what} must have shape ({c},) (one per channel of input {input.shape}), "
                             f"got {tuple(t.shape)}")
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = input.data.size // c
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {input.shape}")
        mean = input.mean(axes, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(axes, keepdim=True)
        if running_mean is not None or running_var is not None:
            # a numpy number or 0-d array stays one (momentum=None's 1/num_batches_tracked, traced by a capture)
            m = momentum if isinstance(momentum, (np.ndarray, np.generic)) else float(momentum)
            with no_grad():
                for stat, value in ((running_mean, mean.data), (running_var, var.data * (count / (count - 1)))):
                    if stat is not None:
                        data = stat.data if type(stat) is Tensor else stat
                        data *= 1 - m
                        data += m * value.reshape(c).astype(data.dtype)
        out = centered / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        mean, var = (np.asarray(getattr(t, "data", t)).reshape(shape) for t in (running_mean, running_var))
        scale = (1.0 / np.sqrt(var + eps)).astype(input.dtype)
        out = (input - mean.astype(input.dtype)) * scale
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
