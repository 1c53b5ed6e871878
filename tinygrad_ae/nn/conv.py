"""torch.nn's convolution layers: `Conv1d`, `Conv2d`, `ConvTranspose1d`, `ConvTranspose2d`, with torch's
arguments, parameter shapes and names (`weight`, `bias`), initialization and `extra_repr`.

Initialization is torch's: weight kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
and bias from the same interval, fan_in = weight.shape[1] * kernel area (in_channels/groups for a
convolution, out_channels/groups for a transposed one), drawn weight first from `rng` (None: the
default generator, as nn.Linear).
"""
import numpy as np

from .. import dtypes, functional_conv as FC, random
from ..engine.tensor import Tensor, no_grad
from . import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                 output_padding=0, device=None, dtype=None, rng=None):
        name = type(self).__name__
        for label, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name}: {label} must be a positive integer, got {n!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported; only 'zeros'")
        n = self.dims
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = FC.tuple_of(name, "kernel_size", kernel_size, n, 1)
        self.stride = FC.tuple_of(name, "stride", stride, n, 1)
        self.dilation = FC.tuple_of(name, "dilation", dilation, n, 1)
        if isinstance(padding, str):
            if self.transposed or padding not in ("same", "valid"):
                allowed = "an int or a tuple" + ("" if self.transposed else ", 'valid' or 'same'")
                raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and self.stride != (1,) * n:
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = FC.tuple_of(name, "padding", padding, n)
        self.output_padding = FC.tuple_of(name, "output_padding", output_padding, n)
        self.padding_mode = padding_mode
        if device is not None:
            dtypes.check_device(name, device)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(name, dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a floating type such as torch.float32, got {dtype}")
        shape = ((in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups))
        self.weight = Tensor(np.empty(shape + self.kernel_size, dtype), requires_grad=True, name="weight")
        self.bias = Tensor(np.empty(out_channels, dtype), requires_grad=True, name="bias") if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """torch's start: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight, then the bias."""
        rng = random.numpy_generator(rng)
        bound = 1.0 / np.sqrt(self.weight.shape[1] * int(np.prod(self.kernel_size)))
        with no_grad():
            self.weight.data[...] = rng.uniform(-bound, bound, size=self.weight.shape)
            if self.bias is not None:
                self.bias.data[...] = rng.uniform(-bound, bound, size=self.bias.shape)

    def extra_repr(self):
        n = self.dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """torch.nn.Conv2d: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, Ho, Wo); weight (out, in/groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device=device, dtype=dtype, rng=rng)

    def forward(self, input):  # noqa: A002 (torch's name)
        return FC.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(Conv2d):
    """torch.nn.Conv1d: (N, C_in, L) or (C_in, L) -> (N, C_out, Lo); weight (out, in/groups, k)."""
    dims = 1

    def forward(self, input):  # noqa: A002
        return FC.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """torch.nn.ConvTranspose2d: (N, C_in, H, W) -> (N, C_out, (H-1) stride - 2 padding + dilation (k-1) +
    output_padding + 1, ...); weight (in, out/groups, kh, kw). forward's output_size picks output_padding."""
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         output_padding, device=device, dtype=dtype, rng=rng)

    def _output_padding(self, input, output_size):
        """output_padding for a requested output_size (torch's rule: within [0, stride) of the smallest)."""
        if output_size is None:
            return self.output_padding
        n = self.dims
        output_size = tuple(output_size)[-n:]
        if len(output_size) != n:
            raise ValueError(f"{type(self).__name__}: output_size must have {n} or {n + 2} elements, got {output_size}")
        padding = []
        for d in range(n):
            smallest = ((input.shape[d - n] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            extra = output_size[d] - smallest
            if not 0 <= extra < self.stride[d]:
                raise ValueError(f"{type(self).__name__}: requested an output size of {output_size}, but valid sizes "
                                 f"range from {smallest} to {smallest + self.stride[d] - 1} in dim {d}")
            padding.append(extra)
        return tuple(padding)

    def forward(self, input, output_size=None):  # noqa: A002
        fn = FC.conv_transpose2d if self.dims == 2 else FC.conv_transpose1d
        return fn(input, self.weight, self.bias, self.stride, self.padding, self._output_padding(input, output_size),
                  self.groups, self.dilation)


class ConvTranspose1d(ConvTranspose2d):
    """torch.nn.ConvTranspose1d: (N, C_in, L) -> (N, C_out, Lo); weight (in, out/groups, k)."""
    dims = 1
