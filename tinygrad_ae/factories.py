"""Making tensors, with PyTorch's names and meanings: `tensor`, `as_tensor`, `from_numpy`, `zeros`,
`ones`, `full`, `empty`, `eye`, `arange`, `linspace`, the `*_like` functions (the random ones, `rand`,
`randn`, `randint`, `randperm`, `normal`, `rand_like`, `randn_like`, are in random_factories.py); `is_tensor`, `is_floating_point`, `numel`.

As in torch: sizes come as separate integers or one tuple/list (`zeros(2, 3)`, `zeros((2, 3))`);
floating results have the default dtype (float32, tg.get_default_dtype()) and integer ones int64
(`arange(5)`, `randint`, `randperm`, `full(size, 7)`); `dtype=` takes tg.float32, np.float32, or
Python's float/int/bool (float64/int64/bool); `requires_grad=True` makes a leaf to differentiate,
for floating dtypes only; `device=` is the CPU or an error (tinygrad_ae computes with numpy).

Random factories draw from `generator=` (a tg.Generator, or a numpy Generator), by default from the
default generator (`tg.manual_seed`). rand, randn and normal draw through `random.draw`, so a captured
step (tg.compile) draws anew at every replay; randint and randperm draw with numpy directly. Their
numbers are numpy's, not torch's: the same distributions, another stream.
"""
import math
import numbers

import numpy as np

from . import dtypes, random
from .engine.tensor import Tensor, wrap



# ----- the checks every factory shares ---------------------------------------------------------------
def _kind(x):
    return type(x).__name__


def _size(where, size):
    """A shape from a factory's varargs: ints, or one tuple/list of ints (torch's two spellings)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{where}: size must be integers (zeros(2, 3)) or one tuple of integers "
                            f"(zeros((2, 3))), got {_kind(n)} {n!r:.40} in {size!r:.80}")
        if n < 0:
            raise ValueError(f"{where}: sizes must be >= 0, got {n} in {tuple(size)}")
    return tuple(int(n) for n in size)


def _varargs_size(where, size):
    if not size:
        raise TypeError(f"{where}: missing the size: give the dimensions, e.g. {where}(2, 3) or {where}((2, 3)) "
                        f"(a 0-d tensor: {where}(()))")
    return _size(where, size)


def _count(where, name, n):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {_kind(n)} {n!r:.40}")
    if n < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {n}")
    return int(n)


def _number(where, name, value):
    """A Python number from a number, a numpy scalar or a one-element Tensor/array."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"{where}: {name} must be a number or a one-element tensor, got shape {value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {_kind(value)} {value!r:.40}")
    return value


def _float_dtype(where, dtype, default=None):
    dt = dtypes.as_dtype(where, dtype, default)
    if dt.kind != "f":
        raise TypeError(f"{where}: random floating numbers need a floating dtype (float16, float32 or "
                        f"float64), got {dt}")
    return dt


def _generator(where, generator):
    return random.generator_argument(where, generator)


def _wrap(where, array, requires_grad=False):
    """The Tensor holding `array` itself (not a copy); requires_grad only for floating dtypes."""
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"{where}: only floating-point tensors can require gradients, got dtype {array.dtype}; "
                        "use a floating dtype (tg.float32) or requires_grad=False")
    if array.dtype.kind == "f":
        return Tensor(array, requires_grad=requires_grad)
    return wrap(array)                       # integer and bool tensors: the array as it is


def _check_input(where, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a Tensor, got {_kind(input)}; for an array, "
                        f"tg.from_numpy(array) first")
    return input


# ----- from data -------------------------------------------------------------------------------------
def _array_from_data(where, data, dtype=None):
    """A new ndarray from Python data, typed as torch.tensor types it: bools bool, integers int64,
    other reals the default dtype; an ndarray keeps its dtype."""
    if isinstance(data, Tensor):
        array = np.array(data.data)
    elif isinstance(data, np.ndarray):
        array = np.array(data)
    else:
        if isinstance(data, (str, bytes)) or not isinstance(data, (numbers.Number, np.generic, list, tuple)):
            raise TypeError(f"{where}: cannot make a tensor from {_kind(data)} {data!r:.60}; pass a number, a "
                            "(nested) list of numbers, a numpy array or a Tensor")
        try:
            array = np.array(data)
        except ValueError as error:
            raise ValueError(f"{where}: the nested lists are not rectangular ({error})") from None
        if array.dtype.kind == "i" or array.dtype.kind == "u":
            array = array.astype(np.int64)
        elif array.dtype.kind == "f" and not isinstance(data, np.generic):
            array = array.astype(dtypes.get_default_dtype())
    if array.dtype.kind not in "biuf" or array.dtype.type is np.longdouble:
        raise TypeError(f"{where}: cannot make a tensor of dtype {array.dtype}; a tensor holds float16, float32, "
                        "float64, uint8, int8, int16, int32, int64 or bool")
    if dtype is not None:
        array = array.astype(dtypes.as_dtype(where, dtype), copy=False)
    return array


def tensor(data, dtype=None, device=None, requires_grad=False):
    """torch.tensor: a new tensor holding a copy of `data` (a list of ints gives int64, of floats the
    default dtype, a bool list bool; a numpy array keeps its dtype)."""
    dtypes.check_device("tensor", device)
    return _wrap("tensor", _array_from_data("tensor", data, dtype), requires_grad)


def as_tensor(data, dtype=None, device=None):
    """torch.as_tensor: `data` as a tensor, sharing its memory where it can: a Tensor of that dtype is
    returned itself, an ndarray of that dtype is wrapped without a copy; other data is copied."""
    dtypes.check_device("as_tensor", device)
    want = None if dtype is None else dtypes.as_dtype("as_tensor", dtype)
    if isinstance(data, Tensor):
        if want is None or data.dtype == want:
            return data
        if hasattr(data, "to"):           # a cast that keeps the graph, once the engine has one
            return data.to(want)
        if data.requires_grad:
            raise TypeError(f"as_tensor: cannot change the dtype of a tensor that requires grad ({data.dtype} "
                            f"to {want}) yet; pass dtype={data.dtype} or cast the array")
        return _wrap("as_tensor", data.data.astype(want))
    if isinstance(data, np.ndarray):
        array = from_numpy(data).data if want is None or data.dtype == want else _array_from_data(
            "as_tensor", data, want)
        return _wrap("as_tensor", array)
    return _wrap("as_tensor", _array_from_data("as_tensor", data, want))


def from_numpy(ndarray):
    """torch.from_numpy: a tensor sharing the array's memory (a write to one shows in the other),
    with the array's dtype."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy ndarray, got {_kind(ndarray)}; for lists and numbers, "
                        "tg.tensor(data)")
    if ndarray.dtype not in dtypes.SUPPORTED:
        raise TypeError(f"from_numpy: cannot wrap an array of dtype {ndarray.dtype}; a tensor holds float16, "
                        "float32, float64, uint8, int8, int16, int32, int64 or bool")
    return _wrap("from_numpy", ndarray)


# ----- filled -----------------------------------------------------------------------------------------
def zeros(*size, dtype=None, device=None, requires_grad=False):
    """torch.zeros: a tensor of zeros, of the default dtype unless dtype= is given."""
    dtypes.check_device("zeros", device)
    return _wrap("zeros", np.zeros(_varargs_size("zeros", size), dtypes.as_dtype("zeros", dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """torch.ones: a tensor of ones, of the default dtype unless dtype= is given."""
    dtypes.check_device("ones", device)
    return _wrap("ones", np.ones(_varargs_size("ones", size), dtypes.as_dtype("ones", dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """torch.empty: a tensor whose values are whatever the memory held (not initialized)."""
    dtypes.check_device("empty", device)
    return _wrap("empty", np.empty(_varargs_size("empty", size), dtypes.as_dtype("empty", dtype)), requires_grad)


def _fill_dtype(where, fill_value, dtype):
    """dtype= if given, else the fill value's: bool for bools, int64 for integers, the default dtype else."""
    if dtype is not None:
        return dtypes.as_dtype(where, dtype)
    if isinstance(fill_value, (bool, np.bool_)):
        return dtypes.bool
    if isinstance(fill_value, (numbers.Integral, np.integer)):
        return dtypes.int64
    return dtypes.get_default_dtype()


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """torch.full: a tensor of `size` (a tuple or list) filled with fill_value; its dtype is dtype=, else
    bool for a bool, int64 for an integer and the default dtype for a float."""
    dtypes.check_device("full", device)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full: size must be a tuple of integers, e.g. full((2, 3), 7.0), got {_kind(size)} {size!r:.40}")
    fill_value = _number("full", "fill_value", fill_value)
    dt = _fill_dtype("full", fill_value, dtype)
    return _wrap("full", np.full(_size("full", (size,)), fill_value, dt), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """torch.eye: the n x m (m defaults to n) matrix with ones on the diagonal."""
    dtypes.check_device("eye", device)
    n = _count("eye", "n", n)
    m = n if m is None else _count("eye", "m", m)
    return _wrap("eye", np.eye(n, m, dtype=dtypes.as_dtype("eye", dtype)), requires_grad)


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """torch.arange: start, start + step, ... up to end (not included); arange(end) starts at 0.
    int64 when start, end and step are all integers, else the default dtype. As torch: the length is
    ceil((end - start) / step), and the values start + i * step are computed in float64 and then
    rounded to the dtype (for an integer dtype, start, end and step are truncated to integers first)."""
    dtypes.check_device("arange", device)
    if end is None:
        start, end = 0, start
    start, end, step = (_number("arange", name, v) for name, v in (("start", start), ("end", end), ("step", step)))
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = dtypes.as_dtype("arange", dtype, dtypes.int64 if integral else None)
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise ValueError(f"arange: start, end and step must be finite, got {start}, {end}, {step}")
    given_step = step
    if dt.kind != "f" and not integral:     # as torch: truncated to integers first
        integral, start, end, step = True, int(start), int(end), int(step)
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {given_step}" +
                         ("" if given_step == 0 else f", which is 0 as an {dt}"))
    if (end - start) * step < 0:
        raise ValueError(f"arange: from start={start} the step {step} never reaches end={end}; use a step of "
                         "the other sign")
    if integral:
        array = np.arange(start, end, step, dtype=np.int64).astype(dt, copy=False)
    else:
        n = math.ceil((end - start) / step)
        array = (float(start) + np.arange(n, dtype=np.float64) * float(step)).astype(dt)
    return _wrap("arange", array, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """torch.linspace: `steps` values from start to end, both included, evenly spaced. As torch computes
    them: start and end in the result's dtype, step = (end - start) / (steps - 1) in it (float64 for an
    integer dtype), the first half of the values start + i * step, the second end - (steps - 1 - i) * step,
    each rounded once (torch's kernel fuses the multiply-add), an integer dtype truncating them."""
    dtypes.check_device("linspace", device)
    start, end = _number("linspace", "start", start), _number("linspace", "end", end)
    steps = _count("linspace", "steps", steps)
    dt = dtypes.as_dtype("linspace", dtype)
    if steps <= 1:
        return _wrap("linspace", np.full(steps, start).astype(dt), requires_grad)
    a, b = dt.type(start), dt.type(end)
    step = (b.astype(np.float64) - a) / (steps - 1) if dt.kind != "f" else (b - a) / dt.type(steps - 1)
    a, b, step = np.float64(a), np.float64(b), np.float64(step)   # float32 * float32 is exact in float64
    i = np.arange(steps)
    values = np.where(i < steps // 2, a + step * i, b - step * (steps - 1 - i))
    return _wrap("linspace", values.astype(dt), requires_grad)


# ----- like another tensor --------------------------------------------------------------------------
def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    """torch.zeros_like: zeros of input's shape, and of its dtype unless dtype= is given."""
    dtypes.check_device("zeros_like", device)
    x = _check_input("zeros_like", input)
    return _wrap("zeros_like", np.zeros(x.shape, dtypes.as_dtype("zeros_like", dtype, x.dtype)), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """torch.ones_like: ones of input's shape, and of its dtype unless dtype= is given."""
    dtypes.check_device("ones_like", device)
    x = _check_input("ones_like", input)
    return _wrap("ones_like", np.ones(x.shape, dtypes.as_dtype("ones_like", dtype, x.dtype)), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """torch.empty_like: an uninitialized tensor of input's shape and dtype."""
    dtypes.check_device("empty_like", device)
    x = _check_input("empty_like", input)
    return _wrap("empty_like", np.empty(x.shape, dtypes.as_dtype("empty_like", dtype, x.dtype)), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """torch.full_like: input's shape filled with fill_value, in input's dtype unless dtype= is given
    (a float fill of an integer tensor is truncated, as in torch)."""
    dtypes.check_device("full_like", device)
    x = _check_input("full_like", input)
    fill_value = _number("full_like", "fill_value", fill_value)
    dt = dtypes.as_dtype("full_like", dtype, x.dtype)
    return _wrap("full_like", np.full(x.shape, int(fill_value) if dt.kind in "iu" else fill_value, dt), requires_grad)


# ----- questions ------------------------------------------------------------------------------------
def is_tensor(obj):
    """torch.is_tensor: True if obj is a Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input):
    """torch.is_floating_point: True if the tensor's dtype is a floating one (float16, float32, float64)."""
    return _check_input("is_floating_point", input).dtype.kind == "f"


def numel(input):
    """torch.numel: the number of elements of the tensor."""
    return int(_check_input("numel", input).data.size)
