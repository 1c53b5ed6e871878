"""Shared hypothesis strategies: shapes, broadcastable pairs, reduction axes, float64 arrays in an op's domain.

Arrays stay small (at most 3 dims of side 4) so that central differences over every element stay cheap.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_DIMS = 3
MAX_SIDE = 4


def shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE):
    """Array shapes, 0-d included by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def floats_in(lo, hi):
    """Finite float64 scalars in [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape, lo=-3.0, hi=3.0):
    """float64 arrays of `shape` with every element in [lo, hi]."""
    return hnp.arrays(np.float64, shape, elements=floats_in(lo, hi))


def positive_arrays(shape, lo=0.2, hi=3.0):
    """float64 arrays with every element in [lo, hi], lo > 0 (domain of log, fractional powers)."""
    return arrays(shape, lo, hi)


def nonzero_arrays(shape, margin=0.1, hi=3.0):
    """float64 arrays with every |element| in [margin, hi]: away from the kink of relu/abs and the pole of 1/x.

    The margin is far larger than gradcheck's eps, so central differences never straddle the kink.
    """
    magnitude = floats_in(margin, hi)
    return hnp.arrays(np.float64, shape, elements=st.one_of(magnitude, magnitude.map(lambda v: -v)))


@st.composite
def array_pairs(draw, first=arrays, second=arrays, min_dims=0, max_dims=MAX_DIMS):
    """Two arrays of mutually broadcastable shapes (size-1 dims and missing leading dims included).

    `first` and `second` map a shape to an array strategy, so each operand can have its own domain.
    """
    pair = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE))
    shape_a, shape_b = pair.input_shapes
    return draw(first(shape_a)), draw(second(shape_b))


@st.composite
def reduction_axes(draw, ndim):
    """An `axis` argument valid for an array of `ndim` dims: None, an int (negative too) or a tuple."""
    choices = [st.none()]
    if ndim > 0:
        choices.append(st.integers(-ndim, ndim - 1))
        choices.append(hnp.valid_tuple_axes(ndim, min_size=1))
    return draw(st.one_of(*choices))


@st.composite
def arrays_with_axes(draw, lo=-3.0, hi=3.0):
    """(array, axis, keepdims) for sum/mean."""
    x = draw(arrays(draw(shapes()), lo, hi))
    return x, draw(reduction_axes(x.ndim)), draw(st.booleans())


@st.composite
def matmul_pairs(draw, kind):
    """Two float64 arrays whose shapes `matmul` accepts; kind is one of MATMUL_KINDS."""
    n, k, m, batch = (draw(st.integers(1, MAX_SIDE)) for _ in range(4))
    shape_a, shape_b = {
        "2d@2d": ((n, k), (k, m)),
        "2d@1d": ((n, k), (k,)),
        "1d@2d": ((k,), (k, m)),
        "1d@1d": ((k,), (k,)),
        "3d@2d": ((batch, n, k), (k, m)),
        "3d@3d": ((batch, n, k), (batch, k, m)),
        "2d@3d": ((n, k), (batch, k, m)),
        "1d@3d": ((k,), (batch, k, m)),
        "3d@1d": ((batch, n, k), (k,)),
        "4d@3d": ((2, 1, n, k), (batch, k, m)),  # batch dims broadcast against each other
    }[kind]
    return draw(arrays(shape_a)), draw(arrays(shape_b))


MATMUL_KINDS = ["2d@2d", "2d@1d", "1d@2d", "1d@1d", "3d@2d", "3d@3d", "2d@3d", "1d@3d", "3d@1d", "4d@3d"]


@st.composite
def reshape_targets(draw):
    """(array, new_shape) with the same number of elements, -1 included as numpy allows."""
    x = draw(arrays(draw(shapes())))
    size = x.size
    target = draw(st.sampled_from([
        (size,), (1, size), (size, 1), tuple(reversed(x.shape)) or (1,), x.shape + (1,), (-1,), (1, -1)]))
    return x, target


@st.composite
def arrays_with_permutation(draw):
    """(array, axes) with axes a permutation of the array's dims, each written as i or i - ndim."""
    x = draw(arrays(draw(shapes(min_dims=1))))
    permutation = draw(st.permutations(range(x.ndim)))
    negative = draw(st.lists(st.booleans(), min_size=x.ndim, max_size=x.ndim))
    return x, tuple(axis - x.ndim if flip else axis for axis, flip in zip(permutation, negative))


@st.composite
def autoencoder_problems(draw, unit_targets, undercomplete=None):
    """(X, W, b, W_star, c) in float64 for the lecture's autoencoder: m <= 4 examples, n <= 5 features, k
    hidden units with k < n (undercomplete), k >= n (overcomplete) or any k <= 6 (None). Targets in [0, 1]
    for cross-entropy (unit_targets), else in [-2, 1]; weights and biases in [-1.5, 1.5]."""
    m = draw(st.integers(1, 4))
    n = draw(st.integers(2 if undercomplete else 1, 5))
    k = draw(st.integers(1, 6) if undercomplete is None else
             st.integers(1, n - 1) if undercomplete else st.integers(n, n + 2))
    X = draw(hnp.arrays(np.float64, (m, n), elements=floats_in(0.0 if unit_targets else -2.0, 1.0)))
    W, b, W_star, c = (draw(hnp.arrays(np.float64, shape, elements=floats_in(-1.5, 1.5)))
                       for shape in ((k, n), (k,), (n, k), (n,)))
    return X, W, b, W_star, c
