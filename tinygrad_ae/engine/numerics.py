"""The numerical helpers and speed tricks the derivative table calls, each with its measured reason.

Kept out of ops.py so the table reads as formulas: numpy's error state set without np.errstate's
cost (numpy's private context variable lives here and nowhere else), and the cached constants that
make a bias gradient one BLAS call or let a captured step bind an arange once.
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


_ARANGES = {}


def cached_arange(n):
    """np.arange(n), one read-only array per n: a constant a captured step can bind, being the same
    object in every call (a fresh arange would be a fresh array each time, which a capture refuses)."""
    numbers = _ARANGES.get(n)
    if numbers is None:
        numbers = _ARANGES[n] = np.arange(n)
        numbers.flags.writeable = False
    return numbers
