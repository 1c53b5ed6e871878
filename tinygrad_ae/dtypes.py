"""What a tensor's numbers are and where they live: dtypes with PyTorch's names, the default floating
dtype, and `device`.

The dtypes are numpy's own dtype objects, so one value serves both worlds: `x.dtype == tg.float32`
holds for a Tensor and for an ndarray, and `np.zeros(3, tg.int64)` works. PyTorch's aliases are the
same objects: `tg.float` is `tg.float32`, `tg.double` float64, `tg.half` float16, `tg.long` int64,
`tg.int` int32 (as in torch, not Python's int, which numpy and torch both read as int64).

There is one device, the CPU: the framework computes with numpy. `tg.device("cpu")` exists so that
code written for PyTorch runs unchanged; `check_device` is what every factory calls, and it refuses
any other device in words.

(This module defines `float`, `int` and `bool` as dtypes, as torch does; its functions therefore
reach Python's own through `builtins`.)
"""
import builtins
import numbers

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int16 = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)       # noqa: A001 (PyTorch's names; Python's are in `builtins`)
float = float32                 # noqa: A001
double = float64
half = float16
long = int64
int = int32                     # noqa: A001
short = int16

# the kinds of numbers a tensor may hold: floating, signed and unsigned integers, booleans
SUPPORTED = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
FLOATING = (float16, float32, float64)

_default_dtype = [float32]      # a one-item list: the setting is global, as torch's


def get_default_dtype():
    """The floating dtype factories and tg.tensor give numbers that are not integers (float32 unless
    set_default_dtype changed it), as torch.get_default_dtype."""
    return _default_dtype[0]


def set_default_dtype(d):
    """Make `d` (float16, float32 or float64) the default floating dtype, as torch.set_default_dtype:
    factories without dtype= (zeros, rand, arange of floats, ...) and tg.tensor of Python floats use it."""
    try:
        value = None if d is None or isinstance(d, str) else np.dtype(d)
    except TypeError:
        value = None
    if value is None or value not in FLOATING:
        raise TypeError(f"set_default_dtype: only floating dtypes (float16, float32, float64) can be the "
                        f"default, got {d!r}")
    _default_dtype[0] = value


def as_dtype(where, dtype, default=None):
    """The numpy dtype `dtype` names (None: `default`, else the default floating dtype), or a TypeError
    naming `where`, what it got and what a tensor can hold. Python's float, int and bool mean float64,
    int64 and bool, as in torch and numpy."""
    if dtype is None:
        return get_default_dtype() if default is None else np.dtype(default)
    if isinstance(dtype, str):      # torch takes no strings; numpy would read "float" as float64
        raise TypeError(f"{where}: dtype must be a dtype such as tg.float32 or tg.int64, not the string "
                        f"{dtype!r}")
    try:
        value = np.dtype(dtype)
    except (TypeError, ValueError):
        value = None
    if value is None or value not in SUPPORTED:
        name = repr(dtype) if value is None else value
        raise TypeError(f"{where}: dtype {name} is not supported; a tensor holds float16, float32, "
                        "float64, uint8, int8, int16, int32, int64 or bool")
    return value


def is_floating_dtype(dtype):
    return np.dtype(dtype).kind == "f"


# ----- the device ---------------------------------------------------------------------------------
# the device types torch.device knows (its error message lists them); only "cpu" computes here
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
                "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:  # noqa: N801 (PyTorch's name)
    """torch.device: a device type and an optional index, e.g. device("cpu"), device("cuda:1"),
    device("cpu", 0). It only describes a device: factories accept the CPU and refuse the rest
    (this framework computes with numpy on the CPU)."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 (torch's keyword)
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, numbers.Integral) and not isinstance(type, builtins.bool):
            type, index = "cuda", type          # torch.device(1) is cuda:1
        elif not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cpu:0' (or a device), got "
                            f"{builtins.type(type).__name__} {type!r:.60}")
        elif ":" in type:
            if index is not None:
                raise ValueError(f"device: {type!r} already names an index; pass device('{type}') alone")
            type, _, text = type.partition(":")
            if not text.isdigit():
                raise ValueError(f"device: invalid device string {type + ':' + text!r}; expected 'type' or "
                                 "'type:index' with an index >= 0, e.g. 'cpu' or 'cpu:0'")
            index = builtins.int(text)
        if type not in DEVICE_TYPES:
            raise ValueError(f"device: unknown device type {type!r}; expected one of {', '.join(DEVICE_TYPES)} "
                             "(and only 'cpu' computes here)")
        if index is not None:
            if isinstance(index, builtins.bool) or not isinstance(index, numbers.Integral) or index < 0:
                raise ValueError(f"device: the index must be an integer >= 0, got {index!r}")
            index = builtins.int(index)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device is immutable")

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{extra})"

    def __reduce__(self):
        return device, (self.type, self.index)


CPU = device("cpu")


def check_device(where, value):
    """The CPU device for `value` (None, "cpu", "cpu:0", device("cpu") or an object with .type "cpu",
    such as a torch.device), or an error naming `where`: any other device is not available here."""
    if value is None:
        return CPU
    if isinstance(value, (str, device)) or (isinstance(value, numbers.Integral) and not isinstance(value, builtins.bool)):
        parsed = device(value)
    elif isinstance(getattr(value, "type", None), str):     # e.g. a torch.device
        parsed = device(value.type, getattr(value, "index", None))
    else:
        raise TypeError(f"{where}: device must be 'cpu' or tg.device('cpu'), got {builtins.type(value).__name__} "
                        f"{value!r:.60}")
    if parsed.type != "cpu":
        raise RuntimeError(f"{where}: device {str(parsed)!r} is not available: tinygrad_ae computes with numpy "
                           "on the CPU; use device='cpu' (or leave device out)")
    return parsed
