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
from tinygrad_ae.engine import ops
from strategies import (MATMUL_KINDS, array_pairs, arrays, arrays_with_axes, arrays_with_permutation,
                        matmul_pairs, nonzero_arrays, positive_arrays, reduction_axes, reshape_targets, shapes)


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
    return (lambda t: t.permute(axes)), [x]


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


# ----- entries of the day-one ops (indexing, joining, max/min, selection, cross-entropy) ----------
# Index, IndexAdd, Cat, Where and Clip are linear in their inputs, so their plain second derivative is
# 0 whatever their backward does; their entries square the result so that gradgradcheck runs each
# backward on Tensors and differentiates it again (Index's backward is IndexAdd and the reverse).

def distinct_arrays(shape):
    """float64 arrays whose elements are all different, at least 0.25 apart (no ties within eps)."""
    size = int(np.prod(shape))
    return st.permutations(range(size)).map(lambda p: (np.array(p, dtype=np.float64) * 0.25 - size / 8).reshape(shape))


@st.composite
def numpy_indices(draw, shape):
    """An index numpy accepts for `shape`: basic (ints, slices with steps, None, ...), integer arrays
    or lists (negative and repeated entries, empty selections), boolean masks, or a slice with a list."""
    kind = draw(st.sampled_from(["basic", "arrays", "list", "mask", "mixed"]))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    if kind == "arrays":
        return draw(hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4)))
    if kind == "list":
        return draw(st.lists(st.integers(-shape[0], shape[0] - 1), max_size=5))
    if kind == "mask":
        k = draw(st.integers(1, len(shape)))
        return draw(hnp.arrays(np.bool_, shape[:k]))
    if len(shape) == 1:
        return (Ellipsis, draw(st.lists(st.integers(-shape[0], shape[0] - 1), max_size=4)))
    return (slice(None, None, draw(st.sampled_from([1, -1, 2]))),
            draw(st.lists(st.integers(-shape[1], shape[1] - 1), max_size=4)))


@st.composite
def indexings(draw):
    x = draw(arrays(draw(shapes(min_dims=1))))
    index = draw(numpy_indices(x.shape))
    return (lambda t: t[index] ** 2), [x]


@st.composite
def index_adds(draw):
    shape = draw(shapes(min_dims=1))
    # the index as Index normalizes it (masks become integer arrays), read off the node it records
    index = tg.Tensor(np.zeros(shape), requires_grad=True)[draw(numpy_indices(shape))].grad_fn.constants["index"]
    values = draw(arrays(np.zeros(shape)[index].shape))
    return (lambda v: tg.apply(ops.IndexAdd, v, index=index, shape=shape) ** 2), [values]


@st.composite
def extremes(draw, method):
    x = draw(shapes().flatmap(distinct_arrays))
    axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1))) if x.ndim else None
    keepdims = draw(st.booleans())
    return (lambda t: getattr(t, method)(axis=axis, keepdims=keepdims) ** 2), [x]


@st.composite
def cats(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        part = list(shape)
        part[axis] = draw(st.integers(0, 3))
        parts.append(draw(arrays(tuple(part))))
    return (lambda *ts: tg.cat(ts, axis=axis) ** 2), parts


@st.composite
def wheres(draw):
    triple = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4))
    shape_c, shape_a, shape_b = triple.input_shapes
    condition = draw(hnp.arrays(np.bool_, shape_c))
    return (lambda a, b: tg.where(condition, a, b) ** 2), [draw(arrays(shape_a)), draw(arrays(shape_b))]


def away_from(bounds, margin=0.05):
    return lambda x: bool(np.all([np.abs(x - b) > margin for b in bounds if b is not None]))


@st.composite
def clips(draw):
    lo, hi = draw(st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0.3, 0.3)]))
    x = draw(shapes().flatmap(arrays).filter(away_from((lo, hi))))
    return (lambda t: t.clip(lo, hi) ** 2), [x]


@st.composite
def class_targets(draw):
    """(logits, target): (N, C) logits and N integer classes, or (C,) logits and a 0-d class."""
    classes = draw(st.integers(1, 4))
    batch = draw(st.sampled_from([(), (1,), (3,), (4,)]))
    logits = draw(arrays(batch + (classes,)))
    target = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, classes - 1)))
    return logits, target


@st.composite
def softmax_cross_entropies(draw):
    logits, target = draw(class_targets())
    scale = draw(st.sampled_from([1.0, 0.25]))
    return (lambda a: tg.apply(ops.SoftmaxCrossEntropySum, a, target=target, scale=scale)), [logits]


# ----- entries of issue 19's primitives (ops_more.py) ---------------------------------------------
# Rounding and Sign have a zero derivative, Cumsum, Gather and ScatterAdd are linear: each entry
# multiplies or squares the result, so that gradgradcheck runs the backward on Tensors and checks it.

def applied(op, **constants):
    return lambda t: tg.apply(op, t, **constants)


def away_from_integers(x, half=False):
    """x at least 0.05 from every integer (and every half-integer with half=True): no jump within eps."""
    step = 0.5 if half else 1.0
    return bool(np.all(np.abs(x / step - np.round(x / step)) * step > 0.05))


@st.composite
def roundings(draw):
    mode = draw(st.sampled_from(["floor", "ceil", "round", "trunc"]))
    x = draw(shapes().flatmap(arrays).filter(lambda x: away_from_integers(x, half=mode == "round")))
    return (lambda t: tg.apply(ops.Rounding, t, mode=mode) * t), [x]


@st.composite
def cumsums(draw):
    x = draw(shapes().flatmap(arrays))
    axis = draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim else 0
    reverse = draw(st.booleans())
    return (lambda t: tg.apply(ops.Cumsum, t, axis=axis, reverse=reverse) ** 2), [x]


@st.composite
def prods(draw):
    x = draw(shapes().flatmap(lambda s: nonzero_arrays(s, margin=0.3, hi=2.0)))
    axis, keepdims = draw(reduction_axes(x.ndim)), draw(st.booleans())
    return (lambda t: tg.apply(ops.Prod, t, axis=axis, keepdims=keepdims)), [x]


@st.composite
def gather_indices(draw, shape):
    """(axis, index) for torch.gather on an input of `shape`: index of its ndim, sizes at most its
    own off the axis (any size along it, 0 included), entries in range and repeated."""
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(0, 4)) if d == axis % len(shape) else draw(st.integers(1, n))
                        for d, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[axis] - 1)))
    return axis, index


@st.composite
def gathers(draw):
    x = draw(shapes(min_dims=1).flatmap(arrays))
    axis, index = draw(gather_indices(x.shape))
    return (lambda t: tg.apply(ops.Gather, t, axis=axis, index=index) ** 2), [x]


@st.composite
def scatter_adds(draw):
    shape = draw(shapes(min_dims=1))
    axis, index = draw(gather_indices(shape))
    values = draw(arrays(index.shape))
    return (lambda v: tg.apply(ops.ScatterAdd, v, axis=axis, index=index, shape=shape) ** 2), [values]


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
    "Index": indexings(),
    "IndexAdd": index_adds(),
    "Max": extremes("amax"),        # (max with an int dim is torch's (values, indices))
    "Min": extremes("amin"),
    "Cat": cats(),
    "Where": wheres(),
    "Clip": clips(),
    "SoftmaxCrossEntropySum": softmax_cross_entropies(),
    "Sin": shapes().flatmap(arrays).map(lambda x: (applied(ops.Sin), [x])),
    "Cos": shapes().flatmap(arrays).map(lambda x: (applied(ops.Cos), [x])),
    "Expm1": shapes().flatmap(arrays).map(lambda x: (applied(ops.Expm1), [x])),
    "Erf": shapes().flatmap(arrays).map(lambda x: (applied(ops.Erf), [x])),
    "Log1p": shapes().flatmap(lambda s: arrays(s, -0.7, 3.0)).map(lambda x: (applied(ops.Log1p), [x])),
    "Rounding": roundings(),
    "Sign": shapes().flatmap(nonzero_arrays).map(lambda x: (lambda t: tg.apply(ops.Sign, t) * t, [x])),
    "Cumsum": cumsums(),
    "Prod": prods(),
    "Gather": gathers(),
    "ScatterAdd": scatter_adds(),
    "Cast": shapes().flatmap(arrays).map(lambda x: (lambda t: tg.apply(ops.Cast, t, dtype=t.dtype) ** 2, [x])),
}


# ----- the convolution family (engine/conv.py): geometry drawn, padding both absent and present ------

@st.composite
def conv_geometries(draw):
    """(x shape, weight shape, constants) of a valid 2-D convolution: strides, paddings, dilations,
    groups and non-square kernels drawn; the output at least 1 by 1."""
    groups = draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    spatial = tuple(max(draw(st.integers(1, 5)), d * (k - 1) + 1 - 2 * p)
                    for k, p, d in zip(kernel, padding, dilation))
    constants = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (draw(st.integers(1, 2)), c_in) + spatial, (c_out, c_in // groups) + kernel, constants


def _conv_out(x_shape, w_shape, c):
    from tinygrad_ae.engine.conv import out_size
    return (x_shape[0], w_shape[0]) + tuple(out_size(*a) for a in zip(x_shape[2:], w_shape[2:], c["stride"],
                                                                        c["padding"], c["dilation"]))


@st.composite
def convs(draw, transposed=False):
    x_shape, w_shape, c = draw(conv_geometries())
    bias = draw(st.booleans())
    if transposed:          # the adjoint: its input is the convolution's output, its output x's shape
        y_shape = _conv_out(x_shape, w_shape, c)
        fn = lambda y, w, *b: tg.apply(ops.ConvTranspose2d, y, w, *b, size=x_shape[2:], **c)  # noqa: E731
        shapes = [y_shape, w_shape] + ([(x_shape[1],)] if bias else [])
    else:
        fn = lambda x, w, *b: tg.apply(ops.Conv2d, x, w, *b, **c)  # noqa: E731
        shapes = [x_shape, w_shape] + ([(w_shape[0],)] if bias else [])
    return fn, [draw(arrays(s)) for s in shapes]


@st.composite
def conv_weights(draw):
    x_shape, w_shape, c = draw(conv_geometries())
    y_shape = _conv_out(x_shape, w_shape, c)
    return (lambda x, y: tg.apply(ops.Conv2dWeight, x, y, kernel=w_shape[2:], **c)), [draw(arrays(x_shape)),
                                                                                        draw(arrays(y_shape))]


OP_TABLE.update({
    "Conv2d": convs(),
    "ConvTranspose2d": convs(transposed=True),
    "Conv2dWeight": conv_weights(),
})
