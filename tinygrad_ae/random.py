"""Random numbers: PyTorch's Generator and default generator on numpy, and `draw`, through which every
draw the package makes inside a computation goes.

One default generator. `default_generator` is the stream every random draw of the package uses when
it is given none: nn.Linear's initial weights, nn.Dropout and F.dropout, an Autoencoder's own generator
(seeded from it when seed is None), the shuffling of tg.data and fit, and the random factories
(tg.rand, tg.randn, ...). So `tg.manual_seed(0)` at the top makes a whole program reproducible, as
`torch.manual_seed(0)` does. An explicit seed or Generator is used as before, untouched by it.

A `Generator` wraps one numpy Generator (PCG64) for its whole life: `manual_seed(s)` and `set_state`
rewind that same object in place, so whatever holds it (a Dropout layer, a captured step) follows.
Seeding is numpy's: after `manual_seed(s)` it draws exactly what `np.random.default_rng(s)` draws.
The numbers differ from PyTorch's (another algorithm); the API and its meaning are torch's. As in
torch, the default generator starts from a non-deterministic seed, and a new Generator() from
67280421310721.

Why one function, `draw`: a captured step (tg.compile) must never freeze random numbers drawn inside
it. While a capture runs in this thread, `draw` hands the request to it, so the program records the
draw and every replay draws anew from the same numpy Generator, continuing its stream exactly as the
eager step would. Outside a capture it is the Generator's own method.
"""
import json
import numbers
import os
import threading

import numpy as np

from . import dtypes

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


# ----- torch.Generator ----------------------------------------------------------------------------
DEFAULT_SEED = 67280421310721           # torch's seed of a new Generator()


def _seed_value(where, seed):
    """A seed as torch takes it: an integer in [-2**63, 2**64); a negative one wraps modulo 2**64."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: the seed must be an integer, got {type(seed).__name__} {seed!r:.60}")
    seed = int(seed)
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"{where}: the seed must lie in [-2**63, 2**64), got {seed}")
    return seed % 2 ** 64


def _fresh_seed():
    """A non-deterministic 64-bit seed (torch.seed's)."""
    return int.from_bytes(os.urandom(8), "little")


class Generator:
    """torch.Generator: a stream of random numbers, here one numpy Generator (PCG64) kept for life.

    manual_seed(s) (returns the Generator), seed() (a fresh non-deterministic seed, returned),
    initial_seed(), get_state() (a uint8 Tensor) and set_state(state), as in torch. The numpy
    Generator itself is `numpy_generator`, for code that draws with numpy's methods."""

    def __init__(self, device="cpu"):
        self.device = dtypes.check_device("Generator", device)
        self.numpy_generator = np.random.Generator(np.random.PCG64(DEFAULT_SEED))
        self._initial_seed = DEFAULT_SEED

    def manual_seed(self, seed):
        """Seed it (as np.random.default_rng(seed) is seeded) and return it."""
        seed = _seed_value("Generator.manual_seed", seed)
        self.numpy_generator.bit_generator.state = np.random.PCG64(seed).state     # in place: holders follow
        self._initial_seed = seed
        return self

    def seed(self):
        """Seed it from the operating system's entropy and return that seed."""
        seed = _fresh_seed()
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        """The seed it was last seeded with."""
        return self._initial_seed

    def get_state(self):
        """Its state as a uint8 Tensor (numpy's bit generator state as JSON bytes), for set_state."""
        from .factories import from_numpy      # (factories imports this module)
        text = json.dumps(self.numpy_generator.bit_generator.state)
        return from_numpy(np.frombuffer(text.encode(), np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from get_state() (a uint8 Tensor or array); returns the Generator."""
        data = getattr(new_state, "data", new_state) if not isinstance(new_state, np.ndarray) else new_state
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(f"Generator.set_state: expected the uint8 tensor get_state() returns, got "
                            f"{_describe(new_state)}")
        try:
            state = json.loads(data.tobytes().decode())
            if state.get("bit_generator") != type(self.numpy_generator.bit_generator).__name__:
                raise ValueError(f"it names the bit generator {state.get('bit_generator')!r}")
            self.numpy_generator.bit_generator.state = state
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            raise ValueError(f"Generator.set_state: these {data.size} bytes are not a state get_state() made "
                             f"({error})") from None
        return self

    def __repr__(self):
        return f"<tinygrad_ae.Generator device={self.device} initial_seed={self._initial_seed}>"


def _describe(value):
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__}" + (f" of shape {tuple(shape)} and dtype {dtype}" if shape is not None else "")


default_generator = Generator()
default_generator.seed()                # as torch: each process starts from a non-deterministic seed


def manual_seed(seed):
    """Seed the default generator and return it (torch.manual_seed)."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator non-deterministically and return the seed (torch.seed)."""
    return default_generator.seed()


def initial_seed():
    """The default generator's seed (torch.initial_seed)."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 Tensor (torch.get_rng_state)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore the default generator's state from get_rng_state() (torch.set_rng_state)."""
    default_generator.set_state(new_state)


def numpy_generator(rng):
    """The numpy Generator a draw given `rng` uses: None, the default generator's; a tg.Generator, its
    own; a numpy Generator, itself; anything else (an int seed, a SeedSequence) seeds a new one, as
    np.random.default_rng(rng) does, so seeded behaviour stays exactly what it was."""
    if rng is None:
        return default_generator.numpy_generator
    if isinstance(rng, Generator):
        return rng.numpy_generator
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def generator_argument(where, generator):
    """The numpy Generator for a `generator=` argument, as torch takes it: None (the default generator)
    or a Generator (a numpy Generator is taken too); a seed is refused, saying how to make one."""
    if generator is None or isinstance(generator, (Generator, np.random.Generator)):
        return numpy_generator(generator)
    raise TypeError(f"{where}: generator must be a tinygrad_ae.Generator (or a numpy Generator), got "
                    f"{type(generator).__name__} {generator!r:.60}; for a seeded one, "
                    "tg.Generator().manual_seed(seed)")


def child_seed(rng=None):
    """A seed drawn from `rng`'s stream (default: the default generator), for an object that keeps a
    generator of its own (an Autoencoder with seed=None): reproducible after tg.manual_seed."""
    return int(numpy_generator(rng).integers(2 ** 63))
