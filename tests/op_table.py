"""The test table of the derivative table: one entry per primitive of ops.py, with its input domain.

test_op_table.py enumerates every `Function` subclass in ops.py and fails for one that has no entry
here, so a new primitive cannot ship untested (PyTorch's OpInfo, MyGrad's strategies). An entry maps
the primitive's class name to a hypothesis strategy of `(fn, arrays)`: fn takes one Tensor per array
and applies the primitive (through the public method or tg.apply); the arrays are float64 and lie
inside the primitive's domain (away from kinks, poles and ties, which get their own tests).
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import ops
from strategies import (MATMUL_KINDS, array_pairs, arrays, arrays_with_axes, arrays_with_permutation,
                        matmul_pairs, nonzero_arrays, positive_arrays, reshape_targets, shapes)


def unary(method, domain=arrays):
    """Entries for a one-input primitive reached through a Tensor method."""
    return shapes().flatmap(domain).map(lambda x: (lambda t: getattr(t, method)(), [x]))


def binary(fn, second=arrays):
    """Entries for a two-input broadcasting primitive."""
    return array_pairs(second=second).map(lambda pair: (fn, list(pair)))


def no_ties(pair):
    a, b = pair[1]
    return bool(np.all(np.abs(a - b) > 1e-3))   # far from a tie compared with gradcheck's eps


@st.composite
def sums(draw):
    x, axis, keepdims = draw(arrays_with_axes())
    return (lambda t: t.sum(axis=axis, keepdims=keepdims)), [x]


@st.composite
def reshapes(draw):
    x, target = draw(reshape_targets())
    return (lambda t: t.reshape(target)), [x]


@st.composite
def transposes(draw):
    x, axes = draw(arrays_with_permutation())
    return (lambda t: t.transpose(axes)), [x]


@st.composite
def broadcasts(draw):
    x = draw(arrays(draw(shapes(max_dims=2))))
    target = draw(hnp.broadcastable_shapes(x.shape, min_dims=x.ndim, max_dims=3, max_side=3)
                  .map(lambda s: np.broadcast_shapes(s, x.shape)))
    return (lambda t: t.broadcast_to(target)), [x]


@st.composite
def matmuls(draw):
    a, b = draw(matmul_pairs(draw(st.sampled_from(MATMUL_KINDS))))
    return (lambda s, t: s @ t), [a, b]


@st.composite
def linears(draw):
    rows, n_in, n_out = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(st.sampled_from([(), (2,)]))
    x, w, b = draw(arrays(batch + (rows, n_in))), draw(arrays((n_out, n_in))), draw(arrays((n_out,)))
    if draw(st.booleans()):
        return (lambda x, w: F.linear(x, w)), [x, w]
    return (lambda x, w, b: F.linear(x, w, b)), [x, w, b]


@st.composite
def pows(draw):
    exponent = draw(st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.5, -1.5]))
    x = draw(positive_arrays(draw(shapes()), lo=0.3))
    return (lambda t: t ** exponent), [x]


@st.composite
def fused_losses(draw, op, first):
    shape = draw(shapes(min_dims=1))
    scale = draw(st.sampled_from([1.0, 0.25]))
    a, target = draw(first(shape)), draw(arrays(shape, 0.0, 1.0))
    return (lambda a, t: tg.apply(op, a, t, scale=scale)), [a, target]


@st.composite
def binary_cross_entropies(draw):
    shape = draw(shapes())
    p, target = draw(arrays(shape, 0.05, 0.95)), draw(arrays(shape, 0.0, 1.0))
    return (lambda p, t: F.binary_cross_entropy(p, t, reduction="none")), [p, target]


OP_TABLE = {
    "Neg": unary("__neg__"),
    "Exp": unary("exp"),
    "Log": unary("log", positive_arrays),
    "Sqrt": unary("sqrt", positive_arrays),
    "Sigmoid": unary("sigmoid"),
    "Tanh": unary("tanh"),
    "Softplus": unary("softplus"),
    "ReLU": unary("relu", nonzero_arrays),
    "Pow": pows(),
    "Add": binary(lambda a, b: a + b),
    "Sub": binary(lambda a, b: a - b),
    "Mul": binary(lambda a, b: a * b),
    "Div": binary(lambda a, b: a / b, nonzero_arrays),
    "Maximum": binary(lambda a, b: tg.apply(ops.Maximum, a, b)).filter(no_ties),
    "Minimum": binary(lambda a, b: tg.apply(ops.Minimum, a, b)).filter(no_ties),
    "Sum": sums(),
    "Reshape": reshapes(),
    "Transpose": transposes(),
    "BroadcastTo": broadcasts(),
    "MatMul": matmuls(),
    "Linear": linears(),
    "SquaredErrorSum": fused_losses(ops.SquaredErrorSum, arrays),
    "BCEWithLogitsSum": fused_losses(ops.BCEWithLogitsSum, arrays),
    "BinaryCrossEntropy": binary_cross_entropies(),
}
