"""The numerical helpers and speed tricks the derivative table calls, each with its measured reason.

Kept out of ops.py so the table reads as formulas: numpy's error state set without np.errstate's
cost (numpy's private context variable lives here and nowhere else), the stable forms two entries
share, the faster spellings of a numpy call (each tested equal to the plain one on large arrays, in
tests/test_ops_grad.py), the cached constants, and `dispatches`, which lets a helper of the table
take part in numpy's __array_function__ protocol as numpy's own functions do.
Times quoted are per call on one core (AMD EPYC, numpy 2.4, AVX2), 256x784 float32 unless stated.
"""
import numpy as np


try:    # numpy >= 2 keeps the floating-point error state in a context variable: set it directly
    from numpy._core._ufunc_config import _extobj_contextvar as _error_state
    from numpy._core.umath import _make_extobj
except ImportError:         # pragma: no cover (another numpy): np.errstate, a microsecond slower
    _error_state = _make_extobj = None


class ErrorState:
    """What `with np.errstate(**delta):` does, at a tenth of its cost (np.errstate takes about a
    microsecond, as much as a small sigmoid's arithmetic): `token = e.enter()` ... `e.exit(token)`.
    The state set is the delta applied to the state current at entry. tg.compile's replay uses it too."""

    __slots__ = ("delta", "cache")

    def __init__(self, delta):
        self.delta, self.cache = dict(delta), (None, None)   # (state at entry, state to set)

    def enter(self):
        if _error_state is None:
            manager = np.errstate(**self.delta)
            manager.__enter__()
            return manager
        base = _error_state.get()
        cache = self.cache                      # one attribute, so that threads never mix two states
        if cache[0] is not base:
            cache = self.cache = (base, _make_extobj(**self.delta))
        return _error_state.set(cache[1])

    @staticmethod
    def exit(token):
        if _error_state is None:
            token.__exit__(None, None, None)
        else:
            _error_state.reset(token)


OVERFLOW_IGNORED = ErrorState({"over": "ignore"})
DIVIDE_IGNORED = ErrorState({"divide": "ignore"})


# ----- stable forms ----------------------------------------------------------------------------

def sigmoid(x):
    """1/(1 + exp(-x)) on an ndarray or a Tensor. For x < -709 (float64) or x < -88 (float32)
    exp(-x) overflows to inf and 1/(1 + inf) = 0 is the exact limit, so that overflow is silenced
    rather than avoided (the two-branch form costs twice the passes)."""
    token = OVERFLOW_IGNORED.enter()
    try:
        return 1 / (1 + np.exp(-x))
    finally:
        ErrorState.exit(token)


def sigmoid_from_exp_neg_abs(a, e):
    """sigmoid(a) from e = exp(-|a|), which the stable cross-entropy's forward made: 1/(1+e) where a >= 0,
    else e/(1+e). As e lies in (0, 1], the numerator is max(e, a >= 0): four branch-free calls, faster
    than 1/(1+exp(-a)) at 16x64 (5.3 against 5.5 us) and at 256x784 (151 against 220 us); np.where's
    data-dependent branches would cost 720 us there. A NaN in a stays NaN (np.maximum propagates it)."""
    return np.maximum(e, a >= 0) / (1 + e)


def clamped_log(x):
    """log(x), at least -100: PyTorch's clamp in binary cross-entropy (log(0) is -100, not -inf)."""
    token = DIVIDE_IGNORED.enter()
    try:
        return np.maximum(np.log(x), -100.0)
    finally:
        ErrorState.exit(token)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) on an ndarray or a Tensor, shifted by the (constant) max so that exp
    never overflows; the shift does not change the value, so no gradient needs to flow through it."""
    e = np.exp(x - np.max(np.asanyarray(x), axis=axis, keepdims=True))   # (a traced array stays traced)
    return e / e.sum(axis=axis, keepdims=True)


def one_hot(target, classes, dtype):
    """Rows of the identity picked by integer class labels: shape target.shape + (classes,)."""
    return np.equal(np.expand_dims(target, -1), cached_arange(classes)).astype(dtype)


# ----- faster spellings of one numpy call --------------------------------------------------------

_ONES_ROWS = {}


def column_sums(rows):
    """The sum of a 2-D array's rows (a bias's gradient), as ones @ rows: BLAS's matrix-vector product
    takes half the time of np.add.reduce(rows, axis=0) at every size. The ones are cached per length."""
    key = (rows.shape[0], rows.dtype)
    ones = _ONES_ROWS.get(key)
    if ones is None:
        ones = _ONES_ROWS[key] = np.ones(rows.shape[0], rows.dtype)
        ones.flags.writeable = False
    return np.dot(ones, rows)


# ----- numpy's __array_function__ protocol for the table's own helpers -----------------------------

_PLAIN = np.ndarray.__array_function__


def dispatches(function):
    """Let a helper of the table dispatch as numpy's own functions do: when one of its arguments (or
    an array inside a tuple argument, such as an index) has a type that overrides numpy's
    __array_function__ protocol, the call goes there: a Tensor maps the helper to its primitive
    (tensor.py), a captured step's traced array records the call (so an index passed into the step
    stays an input of the program, never a frozen constant)."""
    def helper(*args, **kwargs):
        for x in args:
            for item in x if type(x) is tuple else (x,):
                kind = type(item)
                if kind is not np.ndarray and getattr(kind, "__array_function__", _PLAIN) is not _PLAIN:
                    return kind.__array_function__(item, helper, (kind,), args, kwargs)
        return function(*args, **kwargs)
    helper.__name__, helper.__doc__ = function.__name__, function.__doc__
    helper.plain = function                     # for a caller that knows its arguments are plain ndarrays
    return helper


# ----- cached constants ----------------------------------------------------------------------------

_SEEDS = {}


@dispatches
def seed_ones(data):
    """The gradient that starts a backward walk at data (the loss): ones of its shape and dtype,
    cached (backward never writes into its grad). For a 0-d loss the number 1 of its dtype, since
    arithmetic on a numpy number costs a tenth of that on a 0-d array (the fused losses' backward
    multiplies grad by their scale); else a read-only array. It dispatches as numpy's functions do,
    so in a captured step the seed is the output of a call on the loss and every gradient is an
    array the program computes, never a constant it assumes."""
    key = data.dtype if data.ndim == 0 else (data.shape, data.dtype)  # a dtype hashes faster than a tuple
    ones = _SEEDS.get(key)
    if ones is None:
        if data.ndim == 0:
            ones = _SEEDS[key] = data.dtype.type(1)
        else:
            ones = _SEEDS[key] = np.ones(data.shape, data.dtype)
            ones.flags.writeable = False
    return ones


_ARANGES = {}


def cached_arange(n):
    """np.arange(n), one read-only array per n: a constant a captured step can bind, being the same
    object in every call (a fresh arange would be a fresh array each time, which a capture refuses)."""
    numbers = _ARANGES.get(n)
    if numbers is None:
        numbers = _ARANGES[n] = np.arange(n)
        numbers.flags.writeable = False
    return numbers
