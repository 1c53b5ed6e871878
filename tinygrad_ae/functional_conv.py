"""torch.nn.functional's convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d, with torch's
arguments, shapes and checks; and (from functional_pool.py) pooling, interpolate and batch_norm.

Each is one primitive of engine/conv.py (Conv2d, ConvTranspose2d; their backward is the family's
other members); a 1-D convolution is the 2-D one over a height of 1, and an unbatched (C, H, W) input
is a batch of one. Here: the arguments normalized to pairs, and the errors of bad input, said in
torch's terms before numpy could say them from deep inside.
"""
import numpy as np

from .engine import conv
from .engine.tensor import Tensor, apply

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "interpolate", "upsample", "batch_norm"]


def _int(name, what, value, least):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name}: {what} must be an int >= {least} (or a tuple of them), got {value!r}")
    return int(value)


def tuple_of(name, what, value, n, least=0):
    """value as n ints >= least: one int repeated, or a tuple/list of n (torch's _pair, _single)."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name}: {what} must be an int or {n} ints, got {tuple(value)!r}")
        return tuple(_int(name, what, v, least) for v in value)
    return (_int(name, what, value, least),) * n


def _tensor(name, what, value):
    if isinstance(value, np.ndarray):
        value = Tensor(value)
    if type(value) is not Tensor:
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(value).__name__}")
    return value


def _check_common(name, x, weight, bias, groups, dims, channels_of_weight):
    """The input (batched or not), weight and bias of a convolution, checked; returns (x batched, unbatched)."""
    x, weight = _tensor(name, "input", x), _tensor(name, "weight", weight)
    if weight.ndim != dims + 2:
        raise ValueError(f"{name}: weight must be {dims + 2}-D (out/in channels, in/out channels per group, "
                         f"kernel), got shape {weight.shape}")
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, got "
                         f"shape {x.shape}")
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.dtype != weight.dtype or (bias is not None and _tensor(name, "bias", bias).dtype != x.dtype):
        raise TypeError(f"{name}: input ({x.dtype}), weight ({weight.dtype})"
                        + (f" and bias ({bias.dtype})" if bias is not None else "") + " must have one dtype")
    groups = _int(name, "groups", groups, 1)
    if x.shape[1] % groups or weight.shape[0] % groups:
        raise ValueError(f"{name}: groups={groups} must divide the input's {x.shape[1]} channels and the weight's "
                         f"first dim {weight.shape[0]}")
    expected = weight.shape[channels_of_weight] * (groups if channels_of_weight == 1 else 1)
    if x.shape[1] != expected:
        raise ValueError(f"{name}: the input of shape {tuple(x.shape)} has {x.shape[1]} channels, but the weight "
                         f"of shape {weight.shape} with groups={groups} expects {expected}")
    out_channels = weight.shape[0] if channels_of_weight == 1 else weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{name}: bias must have shape ({out_channels},) (one per output channel), got {bias.shape}")
    return x, weight, unbatched, groups


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002 (torch's names)
    """torch's F.conv2d: input (N, C, H, W) or (C, H, W), weight (O, C/groups, kh, kw), bias (O,);
    padding an int, a pair, "valid" (0) or "same" (output as large as the input; stride 1)."""
    x, weight, unbatched, groups = _check_common("conv2d", input, weight, bias, groups, 2, 1)
    out = _conv("conv2d", x, weight, bias, stride, padding, dilation, groups)
    return out.reshape(out.shape[1:]) if unbatched else out


def _conv(name, x, weight, bias, stride, padding, dilation, groups):
    """The 2-D convolution of a checked batched input: "same" padding (odd totals: the extra row and
    column at the end, as torch) and the check that the kernel fits."""
    stride, dilation = tuple_of(name, "stride", stride, 2, 1), tuple_of(name, "dilation", dilation, 2, 1)
    kernel, crop = weight.shape[2:], (0, 0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            padding = tuple((t + 1) // 2 for t in total)        # the larger half on both sides ...
            crop = tuple(t % 2 for t in total)                  # ... and the first output row/column cropped
        else:
            raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    else:
        padding = tuple_of(name, "padding", padding, 2, 0)
    for axis, (size, k, p, d) in enumerate(zip(x.shape[2:], kernel, padding, dilation)):
        if d * (k - 1) + 1 > size + 2 * p:
            raise ValueError(f"{name}: the kernel {tuple(kernel)} (dilation {dilation}, so {d * (k - 1) + 1} wide in "
                             f"spatial dim {axis}) is larger than the padded input: input shape {tuple(x.shape)}, "
                             f"padding {padding}; use a smaller kernel or more padding")
    out = apply(conv.Conv2d, x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if crop != (0, 0):
        out = out[:, :, crop[0]:, crop[1]:]
    return out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):  # noqa: A002
    """torch's F.conv_transpose2d: input (N, C_in, H, W) or unbatched, weight (C_in, C_out/groups, kh, kw);
    the output is (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1 high (and wide)."""
    x, weight, unbatched, groups = _check_common("conv_transpose2d", input, weight, bias, groups, 2, 0)
    out = _conv_transpose("conv_transpose2d", x, weight, bias, stride, padding, output_padding, groups, dilation)
    return out.reshape(out.shape[1:]) if unbatched else out


def _conv_transpose(name, x, weight, bias, stride, padding, output_padding, groups, dilation):
    if isinstance(padding, str):
        raise NotImplementedError(f"{name}: padding={padding!r} is not supported for transposed convolutions "
                                  "(as in torch); pass ints")
    stride, dilation = tuple_of(name, "stride", stride, 2, 1), tuple_of(name, "dilation", dilation, 2, 1)
    padding, output_padding = tuple_of(name, "padding", padding, 2), tuple_of(name, "output_padding", output_padding, 2)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"{name}: output_padding {output_padding} must be smaller than either stride {stride} "
                             f"or dilation {dilation}")
        if op >= s:
            raise NotImplementedError(f"{name}: output_padding {output_padding} at least the stride {stride} "
                                      "(allowed by torch when dilation is larger) is not supported")
    size = tuple((h - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for h, s, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding))
    if min(size) < 1:
        raise ValueError(f"{name}: the output size {size} of input {tuple(x.shape)}, weight {weight.shape}, "
                         f"stride {stride}, padding {padding} is not positive; use less padding")
    return apply(conv.ConvTranspose2d, x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                 groups=groups, size=size)


def _as_2d(name, input, weight, bias, groups, channels_of_weight):
    """A 1-D convolution's arguments as the 2-D one's: a height of 1."""
    x, weight, unbatched, groups = _check_common(name, input, weight, bias, groups, 1, channels_of_weight)
    return x.unsqueeze(2), weight.unsqueeze(2), unbatched, groups


def _one(name, what, value, least=0):
    if isinstance(value, str):
        return value
    return (0 if what in ("padding", "output_padding") else 1,) + tuple_of(name, what, value, 1, least)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """torch's F.conv1d: input (N, C, L) or (C, L), weight (O, C/groups, k): conv2d over a height of 1."""
    x, w, unbatched, groups = _as_2d("conv1d", input, weight, bias, groups, 1)
    out = _conv("conv1d", x, w, bias, _one("conv1d", "stride", stride, 1), _one("conv1d", "padding", padding),
                _one("conv1d", "dilation", dilation, 1), groups).squeeze(2)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):  # noqa: A002
    """torch's F.conv_transpose1d: input (N, C_in, L) or (C_in, L), weight (C_in, C_out/groups, k)."""
    x, w, unbatched, groups = _as_2d("conv_transpose1d", input, weight, bias, groups, 0)
    name = "conv_transpose1d"
    out = _conv_transpose(name, x, w, bias, _one(name, "stride", stride, 1), _one(name, "padding", padding),
                          _one(name, "output_padding", output_padding), groups,
                          _one(name, "dilation", dilation, 1)).squeeze(2)
    return out.reshape(out.shape[1:]) if unbatched else out


# pooling, resampling and batch norm, under the same roof (functional_pool.py uses tuple_of from here)
from .functional_pool import (adaptive_avg_pool2d, avg_pool2d, batch_norm, interpolate, max_pool2d,  # noqa: E402,F401
                              upsample)
