"""Random numbers: every draw the package makes inside a computation goes through `draw`.

Why one function: a captured step (tg.compile) must never freeze random numbers drawn inside it.
While a capture runs in this thread, `draw` hands the request to it, so the program records the draw
and every replay draws anew from the same numpy Generator, continuing its stream exactly as the
eager step would. Outside a capture it is the Generator's own method.
"""
import threading

# Generator methods that can write into a given array (out=): a replay draws into its planned buffer
DRAWS_WITH_OUT = frozenset({"random", "standard_normal", "standard_exponential"})


class _DrawObserver(threading.local):
    def __init__(self):
        self.observer = None


_draws = _DrawObserver()


def observe_draws(observer):
    """Send this thread's draws to observer(generator, method, size, dtype) (None: stop)."""
    _draws.observer = observer


def draw(generator, method, size, dtype):
    """generator.<method>(size, dtype=dtype), e.g. draw(rng, "random", (64, 784), np.float32)."""
    observer = _draws.observer
    if observer is not None:
        return observer(generator, method, size, dtype)
    return getattr(generator, method)(size, dtype=dtype)
