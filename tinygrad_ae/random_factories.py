"""The random factories, with torch's names and meanings: `rand`, `randn`, `randint`, `randperm`,
`normal`, `rand_like`, `randn_like`, `multinomial`.

They draw from `generator=` (a tg.Generator, or a numpy Generator), by default from the default
generator (`tg.manual_seed`). rand, randn and normal draw through `random.draw`, so a captured step
(tg.compile) draws anew at every replay; randint and randperm draw with numpy directly. Their numbers
are numpy's, not torch's: the same distributions, another stream. Sizes, dtypes, `requires_grad=` and
`device=` are checked as in factories.py, by its helpers.
"""
import numbers

import numpy as np

from . import dtypes, random
from .engine.tensor import Tensor
from .factories import _check_input, _count, _float_dtype, _generator, _kind, _number, _size, _varargs_size, _wrap


# ----- random -----------------------------------------------------------------------------------------
_BELOW_ONE_FP16 = np.float16(1 - 2 ** -11)     # the largest float16 below 1


def _uniform(where, shape, dt, generator, requires_grad):
    rng = _generator(where, generator)
    if dt == np.float16:                # numpy draws float32 or float64; rounding to half must stay below 1
        values = np.minimum(random.draw(rng, "random", shape, np.float32).astype(np.float16), _BELOW_ONE_FP16)
    else:
        values = random.draw(rng, "random", shape, dt)
    return _wrap(where, values, requires_grad)


def _normal(where, shape, dt, generator, requires_grad, mean=0.0, std=1.0):
    rng = _generator(where, generator)
    draw_dtype = np.float32 if dt == np.float16 else dt
    values = random.draw(rng, "standard_normal", shape, draw_dtype)
    if not (np.ndim(std) == 0 and std == 1.0):
        values = values * np.asarray(std, draw_dtype)
    if not (np.ndim(mean) == 0 and mean == 0.0):
        values = values + np.asarray(mean, draw_dtype)
    return _wrap(where, values.astype(dt, copy=False), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """torch.rand: uniform numbers on [0, 1), from `generator` (default: the default generator)."""
    dtypes.check_device("rand", device)
    return _uniform("rand", _varargs_size("rand", size), _float_dtype("rand", dtype), generator, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """torch.randn: standard normal numbers (mean 0, variance 1), from `generator`."""
    dtypes.check_device("randn", device)
    return _normal("randn", _varargs_size("randn", size), _float_dtype("randn", dtype), generator, requires_grad)


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False, low=None, high=None):
    """torch.randint(low=0, high, size): integers uniform on [low, high), int64 unless dtype= is given.
    Called as randint(high, size), randint(low, high, size), or with keywords."""
    dtypes.check_device("randint", device)
    given = list(args)
    if size is None and given and isinstance(given[-1], (tuple, list)):
        size = given.pop()
    if len(given) == 2 and low is None and high is None:
        low, high = given
    elif len(given) == 1 and high is None:
        high = given[0]
    elif len(given) == 1 and low is None:
        low = given[0]
    elif given:
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size), got {len(args)} "
                        "positional arguments")
    if high is None or size is None:
        raise TypeError("randint: needs high and size, e.g. randint(10, (3,)) or randint(2, 10, (3,)); size is "
                        "a tuple of integers")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of integers, e.g. (3,), got {_kind(size)} {size!r:.40}")
    low = 0 if low is None else low
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"randint: {name} must be an integer, got {_kind(v)} {v!r:.40}")
    if not low < high:
        raise ValueError(f"randint: needs low < high (integers in [low, high)), got low={low}, high={high}")
    shape = _size("randint", (size,))
    dt = dtypes.as_dtype("randint", dtype, dtypes.int64)
    values = _generator("randint", generator).integers(int(low), int(high), size=shape, dtype=np.int64)
    return _wrap("randint", values.astype(dt, copy=False), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """torch.randperm: a random permutation of 0, ..., n - 1 (int64 unless dtype= is given)."""
    dtypes.check_device("randperm", device)
    n = _count("randperm", "n", n)
    dt = dtypes.as_dtype("randperm", dtype, dtypes.int64)
    values = _generator("randperm", generator).permutation(n).astype(dt, copy=False)
    return _wrap("randperm", values, requires_grad)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """torch.multinomial: for each row of non-negative weights `input` (1-D or 2-D, not necessarily summing
    to one), `num_samples` category indices (int64) drawn with probability proportional to the weights;
    without replacement each index at most once per row (so at most as many as the row's positive weights)."""
    weights = np.asarray(input.data if isinstance(input, Tensor) else input, dtype=np.float64)
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(f"multinomial: input must be a 1-D or 2-D tensor of weights with at least one category, "
                         f"got shape {weights.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples < 1:
        raise ValueError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("multinomial: the weights must be finite and non-negative (probability tensor contains "
                         "either inf, nan or element < 0)")
    positive = (rows > 0).sum(axis=1)
    if np.any(positive == 0):
        raise ValueError("multinomial: a row of weights sums to zero; every row needs a positive weight")
    if not replacement and num_samples > positive.min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from a row with "
                         f"{positive.min()} positive weights; pass replacement=True or fewer samples")
    rng = _generator("multinomial", generator)
    uniform = rng.random((len(rows), num_samples if replacement else rows.shape[1]))
    if replacement:         # inverse CDF: the first category whose cumulative weight exceeds u * total
        cdf = np.cumsum(rows, axis=1)
        picks = np.stack([np.searchsorted(c, u * c[-1], side="right") for c, u in zip(cdf, uniform)])
        picks = np.minimum(picks, rows.shape[1] - 1)
    else:                   # Efraimidis-Spirakis: the k smallest exponential keys -log(u) / w, w = 0 never
        with np.errstate(divide="ignore", invalid="ignore"):      # 0 / 0 is nan: sorted last, as inf
            keys = -np.log1p(-uniform) / rows
        picks = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return _wrap("multinomial", picks.astype(np.int64).reshape(weights.shape[:-1] + (num_samples,)))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """torch.normal: numbers drawn from N(mean, std^2). mean and std are numbers or tensors (broadcast
    together; the result has their shape and dtype); with two numbers, size= gives the shape. The
    result is a new leaf: no gradient flows back to mean or std (torch's is zero)."""
    dtypes.check_device("normal", device)
    tensors = [v for v in (mean, std) if isinstance(v, (Tensor, np.ndarray))]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number mean and std, give the shape: normal(0.0, 1.0, size=(2, 3)); "
                            "or pass mean or std as a tensor")
        shape = _size("normal", (size,) if isinstance(size, (tuple, list)) else (size,))
        dt = _float_dtype("normal", dtype)
        mean_value, std_value = _number("normal", "mean", mean), _number("normal", "std", std)
    else:
        if size is not None:
            raise TypeError("normal: size= goes with a number mean and std; with a tensor, the result has its shape")
        arrays = [v.data if isinstance(v, Tensor) else v if isinstance(v, np.ndarray) else
                  np.asarray(_number("normal", name, v)) for name, v in (("mean", mean), ("std", std))]
        for name, a in zip(("mean", "std"), arrays):
            if a.dtype.kind not in "biuf":
                raise TypeError(f"normal: {name} must hold real numbers, got dtype {a.dtype}")
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            raise ValueError(f"normal: mean of shape {arrays[0].shape} and std of shape {arrays[1].shape} cannot "
                             "be broadcast together") from None
        float_dtypes = [v.dtype for v in tensors if v.dtype.kind == "f"]     # a number takes the tensor's
        dt = _float_dtype("normal", dtype, np.result_type(*float_dtypes) if float_dtypes else None)
        mean_value, std_value = arrays
    if np.any(np.asarray(std_value) < 0) or np.any(np.isnan(std_value)):
        raise ValueError(f"normal: std must be >= 0, got {std_value!r:.60}")
    return _normal("normal", shape, dt, generator, requires_grad, mean_value, std_value)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    """torch.rand_like: uniform numbers on [0, 1) of input's shape and (floating) dtype."""
    dtypes.check_device("rand_like", device)
    x = _check_input("rand_like", input)
    return _uniform("rand_like", x.shape, _float_dtype("rand_like", dtype, x.dtype), generator, requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    """torch.randn_like: standard normal numbers of input's shape and (floating) dtype."""
    dtypes.check_device("randn_like", device)
    x = _check_input("randn_like", input)
    return _normal("randn_like", x.shape, _float_dtype("randn_like", dtype, x.dtype), generator, requires_grad)
