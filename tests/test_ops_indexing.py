"""The day-one ops: indexing, cat/stack, max/min/argmax/argmin, where, clip, sqrt, maximum/minimum,
softmax/log_softmax/cross_entropy, Dropout. Forward values against numpy, gradients against central
differences (tg.gradcheck / tg.gradgradcheck, float64), ties, the error messages and float32.

The op table (op_table.py) checks every primitive on drawn inputs away from ties; this file adds the
public entry points, the ties, the closed forms and what a user sees when something is wrong.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor, nn
from tinygrad_ae.engine import ops
from op_table import class_targets, distinct_arrays, numpy_indices
from strategies import arrays, shapes


def grad_of(fn, *arrays):
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    fn(*tensors).backward()
    return [t.grad for t in tensors]


def sum_to(g, shape):
    """A broadcast gradient summed back to an input's shape (written apart from the engine's)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


def with_int_arrays(index):
    """The index with its lists as integer arrays (np.add.at reads an empty list as floats)."""
    items = index if type(index) is tuple else (index,)
    return tuple(np.array(i, dtype=np.intp) if isinstance(i, list) else i for i in items)


def check_both_orders(fn, *arrays):
    assert tg.gradcheck(fn, *arrays) is True
    assert tg.gradgradcheck(fn, *arrays) is True


def seed_gradcheck(fn, x):
    """The mixed second derivative at x: d/dv of the vjp v -> v^T d fn/dx, against central
    differences in v. It is defined where fn has a kink (a tie), since the vjp is linear in v."""
    shape = fn(Tensor(x)).shape

    def vjp(v):
        with tg.enable_grad():
            t = Tensor(x, requires_grad=True)
            (g,) = tg.grad(fn(t), t, grad_outputs=v, create_graph=True)
            return g
    return tg.gradcheck(vjp, np.random.default_rng(2).uniform(0.5, 1.5, shape))


# ---------------------------------------------------------------------------------------- indexing

@given(data=st.data())
def test_getitem_forward_equals_numpy_and_gradients_match(data):
    x = data.draw(arrays(data.draw(shapes(min_dims=1))))
    index = data.draw(numpy_indices(x.shape))
    out = Tensor(x)[index]
    np.testing.assert_array_equal(out.data, x[index])
    assert out.shape == x[index].shape
    expected = np.zeros_like(x)
    np.add.at(expected, with_int_arrays(index), 1.0)
    np.testing.assert_array_equal(grad_of(lambda t: t[index].sum(), x)[0], expected)
    check_both_orders(lambda t: t[index] ** 2, x)


def test_repeated_indices_accumulate_like_np_add_at():
    x = np.arange(12.0).reshape(3, 4)
    (g,) = grad_of(lambda t: t[[0, 0, -1]].sum(), x)
    np.testing.assert_array_equal(g, [[2] * 4, [0] * 4, [1] * 4])
    (g,) = grad_of(lambda t: t[:, [1, 1, 1]].sum(), x)
    np.testing.assert_array_equal(g[0], [0, 3, 0, 0])


@pytest.mark.parametrize("index", [
    0, -1, (1, 2), (slice(None, None, -2), 1), (Ellipsis, None, slice(1, 3)), (None, 0),
    [], np.array([], dtype=int), np.zeros((3, 4), dtype=bool), (slice(None), np.array([-1, 0, -1])),
    (np.array([[0, 2], [2, 2]]), slice(None, None, 3)), np.array([True, False, True])])
def test_getitem_cases(index):
    x = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_array_equal(Tensor(x)[index].data, x[index])
    check_both_orders(lambda t: t[index] ** 2, x)


@given(x=shapes(min_dims=1).flatmap(arrays), data=st.data())
def test_scatter_of_a_basic_index_equals_np_add_at(x, data):
    """index_add writes a basic index (each element at most once) directly, an integer array with
    np.add.at: the direct write agrees with np.add.at."""
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    values = np.ones_like(x[index])
    expected = np.zeros_like(x)
    np.add.at(expected, index, values)
    np.testing.assert_array_equal(ops.index_add(values, index if type(index) is tuple else (index,), x.shape),
                                  expected)


def test_index_and_index_add_are_each_others_backward_to_third_order():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = (x[[0, 0, 2]] ** 3).sum()                        # 2 x0^3 + x2^3
    g1, = tg.grad(y, x, create_graph=True)
    g2, = tg.grad(g1.sum(), x, create_graph=True)
    g3, = tg.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.data, [6 * 0.25, 0, 3 * 4])
    np.testing.assert_allclose(g2.data, [12 * 0.5, 0, 6 * 2])
    np.testing.assert_allclose(g3.data, [12, 0, 6])


def test_indexing_errors_say_what_to_do():
    t = Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds for axis 0 with size 3 "
                                         r"\(tensor of shape \(3, 4\)\).*-n\.\.n-1"):
        t[5]
    with pytest.raises(IndexError, match=r"getitem:.*out of bounds"):
        t[[0, -4]]
    with pytest.raises(TypeError, match=r"getitem: float index 1\.0; index with an int"):
        t[1.0]
    with pytest.raises(TypeError, match=r"getitem: index array of dtype float64; index with integers"):
        t[np.array([0.0, 1.0])]
    with pytest.raises(IndexError, match=r"getitem: a boolean mask of shape \(2,\) does not fit a tensor of "
                                         r"shape \(3, 4\) at axis 0.*\(3,\)"):
        t[np.array([True, False])]
    with pytest.raises(IndexError, match=r"mask of shape \(3,\) .* at axis 1.*\(4,\)"):
        t[:, np.ones(3, bool)]
    with pytest.raises(TypeError, match=r"getitem: cannot index with a tensor of dtype float32.*integer tensor"):
        t[Tensor([0, 1])]             # (Tensor([0, 1]) is float32, as torch.Tensor's; tg.tensor([0, 1]) indexes)
    t[0] = 1.0                        # item assignment is torch's in-place write (tests/test_torch_inplace.py)
    assert t.data[0].tolist() == [1.0] * 4 and t.data[1:].sum() == 0


# ------------------------------------------------------------------------------------ cat and stack

@given(data=st.data())
def test_cat_and_stack_equal_numpy_and_split_the_gradient(data):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        part = list(shape)
        part[axis] = data.draw(st.integers(0, 3))
        parts.append(data.draw(arrays(tuple(part))))
    np.testing.assert_array_equal(tg.cat([Tensor(p) for p in parts], axis).data, np.concatenate(parts, axis))
    weights = np.random.default_rng(0).normal(size=np.concatenate(parts, axis).shape)
    grads = grad_of(lambda *ts: (tg.cat(ts, axis) * weights).sum(), *parts)
    np.testing.assert_array_equal(np.concatenate(grads, axis), weights)   # each its own slice
    same = [data.draw(arrays(shape)) for _ in range(len(parts))]
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(tg.stack([Tensor(p) for p in same], new_axis).data, np.stack(same, new_axis))
    check_both_orders(lambda *ts: tg.stack(ts, new_axis) ** 2, *same)


def test_cat_and_stack_errors_name_the_shapes_and_dtypes():
    a, b = Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"cat: tensors of shapes \(2, 3\) and \(3, 4\) cannot be joined "
                                         r"along axis 0; .*same size in every axis but"):
        tg.cat([a, b])
    with pytest.raises(TypeError, match=r"cat: tensors of dtypes float64 and float32 .*convert them"):
        tg.cat([a, Tensor(np.zeros((2, 3), np.float32))])
    with pytest.raises(ValueError, match=r"cat: axis 2 is out of range for tensors of shape \(2, 3\)"):
        tg.cat([a, a], axis=2)
    with pytest.raises(ValueError, match=r"stack: tensors of shapes \(2, 3\) and \(3, 4\); stack needs one shape"):
        tg.stack([a, b])
    with pytest.raises(TypeError, match=r"cat: pass a non-empty list"):
        tg.cat([])


# ---------------------------------------------------------------------- max, min, argmax, argmin

@given(data=st.data(), method=st.sampled_from(["amax", "amin"]))   # (max(dim) is torch's (values, indices))
def test_max_min_forward_equal_numpy_and_gradients_match_without_ties(data, method):
    x = data.draw(shapes().flatmap(distinct_arrays))
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1))) if x.ndim else None
    keepdims = data.draw(st.booleans())
    out = getattr(Tensor(x), method)(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(out.data, getattr(np, method)(x, axis=axis, keepdims=keepdims))
    check_both_orders(lambda t: getattr(t, method)(axis=axis, keepdims=keepdims) ** 2, x)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
def test_max_min_ties_share_the_gradient_equally_as_torch_amax(axis):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    (g,) = grad_of(lambda t: t.amax(axis=axis).sum(), x)
    hits = x == x.max(axis=axis, keepdims=True)
    np.testing.assert_allclose(g, hits / hits.sum(axis=axis, keepdims=True))
    (g,) = grad_of(lambda t: t.amin(axis=axis).sum(), -x)
    np.testing.assert_allclose(g, hits / hits.sum(axis=axis, keepdims=True))
    assert seed_gradcheck(lambda t: t.amax(axis=axis), x) is True
    assert seed_gradcheck(lambda t: t.amin(axis=axis), -x) is True


@given(data=st.data(), method=st.sampled_from(["max", "min"]))
def test_a_tie_of_two_matches_central_differences(data, method):
    """With exactly two tied extremes, central differences give each 1/2: the shared gradient."""
    x = data.draw(distinct_arrays((data.draw(st.integers(2, 5)),)))
    i, j = data.draw(st.lists(st.integers(0, len(x) - 1), min_size=2, max_size=2, unique=True))
    extreme = getattr(np, method)(x)
    k = int(np.flatnonzero(x == extreme)[0])
    x[[k, i, j]] = x[[i, k, j]]                          # the extreme at i; then j gets it too
    x[j] = x[i]
    assert tg.gradcheck(lambda t: getattr(t, method)(), x) is True
    assert seed_gradcheck(lambda t: getattr(t, method)(keepdims=True), x) is True


@given(x=shapes(min_dims=1).flatmap(lambda s: hnp.arrays(np.float64, s, elements=st.sampled_from([-1.0, 0.0, 1.0]))),
       keepdims=st.booleans(), data=st.data())
def test_argmax_argmin_are_int64_tensors_equal_to_numpy(x, keepdims, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    t = Tensor(x, requires_grad=True)
    for method in ("argmax", "argmin"):
        result = getattr(t, method)(axis=axis, keepdims=keepdims)
        assert isinstance(result, Tensor) and result.dtype == np.int64 and not result.requires_grad
        np.testing.assert_array_equal(result.data, getattr(np, method)(x, axis=axis, keepdims=keepdims))


# ------------------------------------------------------- elementwise: sqrt, maximum, minimum, where, clip

@given(data=st.data())
def test_sqrt(data):
    x = data.draw(shapes().flatmap(lambda s: arrays(s, 0.2, 3.0)))
    np.testing.assert_allclose(Tensor(x).sqrt().data, np.sqrt(x), rtol=1e-15)
    np.testing.assert_allclose(F.sqrt(Tensor(x)).data, np.sqrt(x), rtol=1e-15)
    check_both_orders(lambda t: t.sqrt(), x)


@given(data=st.data(), name=st.sampled_from(["maximum", "minimum"]))
def test_maximum_minimum_with_ties_split_in_half(data, name):
    """Values from {-1, 0, 1}: many ties. Each tie sends half the gradient to each side, as PyTorch."""
    pair = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    a, b = (data.draw(hnp.arrays(np.float64, s, elements=st.sampled_from([-1.0, 0.0, 1.0])))
            for s in pair.input_shapes)
    fn = getattr(tg, name)
    np.testing.assert_array_equal(fn(Tensor(a), Tensor(b)).data, getattr(np, name)(a, b))
    ga, gb = grad_of(lambda s, t: fn(s, t).sum(), a, b)
    better = np.greater if name == "maximum" else np.less
    share = np.broadcast_to(better(a, b) + 0.5 * (a == b), pair.result_shape)
    np.testing.assert_allclose(ga, sum_to(share, a.shape))
    np.testing.assert_allclose(gb, sum_to(1 - share, b.shape))
    assert tg.gradcheck(lambda s, t: fn(s, t), a, b) is True      # a tie of two: central differences agree
    assert tg.gradcheck(lambda s, t: fn(s, 0.5), a, b) is True     # a number as the other operand


@given(data=st.data())
def test_where_equals_numpy_and_routes_the_gradient(data):
    triple = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    shape_c, shape_a, shape_b = triple.input_shapes
    condition = data.draw(hnp.arrays(np.bool_, shape_c))
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    np.testing.assert_array_equal(tg.where(condition, Tensor(a), Tensor(b)).data, np.where(condition, a, b))
    check_both_orders(lambda s, t: tg.where(condition, s, t) * s, a, b)
    x = Tensor(a)
    np.testing.assert_array_equal(tg.where(x > 0, x, 0.0).data, np.where(a > 0, a, 0.0))


def test_where_refuses_a_condition_that_is_not_boolean():
    with pytest.raises(TypeError, match=r"where: the condition must be a boolean array \(e\.g\. x > 0\), got "
                                        r"dtype float32"):
        tg.where(Tensor([1.0, 0.0]), Tensor([1.0, 2.0]), 0.0)


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (None, 0.0), (0.0, None), (0.5, 0.5)])
def test_clip_passes_the_gradient_where_lo_le_x_le_hi(lo, hi):
    x = np.array([-2.0, -1.0, -0.3, 0.0, 0.5, 1.0, 1.7])
    out = Tensor(x).clip(lo, hi)
    np.testing.assert_array_equal(out.data, np.clip(x, lo, hi))
    (g,) = grad_of(lambda t: t.clip(lo, hi).sum(), x)
    inside = (x >= (-np.inf if lo is None else lo)) & (x <= (np.inf if hi is None else hi))
    np.testing.assert_array_equal(g, inside.astype(float))     # the bounds included, as torch.clamp
    away = x[np.all([np.abs(x - b) > 0.1 for b in (lo, hi) if b is not None], axis=0)]
    check_both_orders(lambda t: t.clip(lo, hi) ** 2, away)
    with pytest.raises(ValueError, match="at least one of min and max"):
        Tensor(x).clip()


# ----------------------------------------------------------- softmax, log_softmax, cross_entropy

def numpy_log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


@given(data=st.data())
def test_softmax_and_log_softmax_equal_numpy_and_differentiate_twice(data):
    x = data.draw(arrays(data.draw(shapes(min_dims=1))))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(F.log_softmax(Tensor(x), axis).data, numpy_log_softmax(x, axis), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(F.softmax(Tensor(x), axis).data, np.exp(numpy_log_softmax(x, axis)), rtol=1e-12)
    check_both_orders(lambda t: F.log_softmax(t, axis), x)
    check_both_orders(lambda t: F.softmax(t, axis), x)


def test_softmax_and_log_softmax_are_finite_at_plus_minus_1000():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    np.testing.assert_allclose(F.log_softmax(Tensor(x)).data, [[0, -2000, -1000], [-np.log(3)] * 3])
    np.testing.assert_allclose(F.softmax(Tensor(x)).data, [[1, 0, 0], [1 / 3] * 3])
    (g,) = grad_of(lambda t: F.log_softmax(t)[:, 0].sum(), x)
    assert np.all(np.isfinite(g))
    loss = F.cross_entropy(Tensor(x, requires_grad=True), [1, 2])
    assert loss.item() == pytest.approx((2000 + np.log(3)) / 2)


@given(case=class_targets(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_equals_numpy_and_its_gradient_is_softmax_minus_one_hot(case, reduction):
    logits, target = case
    per_row = -np.take_along_axis(numpy_log_softmax(logits), target[..., None], axis=-1)[..., 0]
    expected = {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]
    out = F.cross_entropy(Tensor(logits), target, reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    weight = np.random.default_rng(0).uniform(0.5, 1.5, per_row.shape)
    (g,) = grad_of(lambda t: (F.cross_entropy(t, target, reduction) * (weight if reduction == "none" else 1)).sum(),
                   logits)
    one_hot = np.eye(logits.shape[-1])[target]
    scale = {"mean": 1 / max(target.size, 1) * np.ones_like(weight), "sum": np.ones_like(weight), "none": weight}
    np.testing.assert_allclose(g, (np.exp(numpy_log_softmax(logits)) - one_hot) * scale[reduction][..., None],
                               rtol=1e-12, atol=1e-15)
    check_both_orders(lambda t: F.cross_entropy(t, target, reduction), logits)


def test_cross_entropy_errors_say_what_to_do():
    logits = Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"cross_entropy: target must hold integer class indices, got dtype "
                                        r"float64; pass labels\.astype\(int\)"):
        F.cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target holds class 3 but the logits have 3 classes; classes are 0\.\.2"):
        F.cross_entropy(logits, [0, 3])
    with pytest.raises(ValueError, match=r"target holds class -1"):
        F.cross_entropy(logits, [0, -1])
    with pytest.raises(ValueError, match=r"logits of shape \(2, 3\) need a target of shape \(2,\).*got shape \(3,\)"):
        F.cross_entropy(logits, [0, 1, 2])
    with pytest.raises(TypeError, match=r"target must hold integer class indices, got a tensor of dtype float32"):
        F.cross_entropy(logits, Tensor([0, 1]))  # (torch.Tensor's float32, as torch's; tg.tensor([0, 1]) is int64)
    for reduction in ("mean", "none"):           # an integer tensor is its labels
        np.testing.assert_array_equal(F.cross_entropy(logits, tg.tensor([2, 1]), reduction=reduction).data,
                                      F.cross_entropy(logits, np.array([2, 1]), reduction=reduction).data)
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        F.cross_entropy(logits, [0, 1], reduction="batchmean")


# ------------------------------------------------------------------------------------------ dropout

def test_dropout_follows_pytorchs_rule_in_training_and_is_the_identity_in_eval():
    x = Tensor(np.ones((200, 50), np.float32), requires_grad=True)
    layer = nn.Dropout(0.3, rng=0)
    assert layer.training and repr(layer) == "Dropout(p=0.3, inplace=False)"
    y = layer(x)
    assert y.dtype == np.float32
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7, rtol=1e-6)
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(nn.Dropout(0.3, rng=0)(x).data, y.data)      # seeded: reproducible
    assert layer.eval() is layer and not layer.training
    assert layer(x) is x
    assert F.dropout(x, 1.0).data.sum() == 0 and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 1\.5"):
        nn.Dropout(1.5)


def test_train_and_eval_reach_every_submodule_and_sequential_ignores_the_flag():
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Dropout(0.5, rng=0), nn.Sequential(nn.ReLU(), nn.Dropout(0.5)))
    assert model.training and model[1].training
    model.eval()
    assert not model.training and not model[1].training and not model[2][1].training
    assert len(model) == 3 and len(model[2]) == 2
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(model(x).data, model(x).data)     # no dropout in eval mode
    model.train()
    assert model[2][1].training
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


# --------------------------------------------------------------------------------------- float32

@pytest.mark.parametrize("name, fn", [
    ("getitem", lambda t: t[[0, 0], 1:]),
    ("mask", lambda t: t[t > 0]),
    ("stack", lambda t: tg.stack([t, t], 1)),
    ("max", lambda t: t.amax(axis=0)),
    ("where with a number", lambda t: tg.where(t > 0, t, 0.0)),
    ("clip", lambda t: t.clip(-0.5, 0.5)),
    ("maximum with a number", lambda t: tg.maximum(t, 0.25)),
    ("softmax", lambda t: F.softmax(t)),
    ("log_softmax", lambda t: F.log_softmax(t, axis=0)),
    ("cross_entropy", lambda t: F.cross_entropy(t, [0, 1, 2])),
    ("cross_entropy none", lambda t: F.cross_entropy(t, [0, 1, 2], reduction="none")),
])
def test_float32_stays_float32_forward_backward_and_second_order(name, fn):
    x = Tensor(np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32), requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    (g,) = tg.grad(out.sum(), x, create_graph=True)
    assert g.dtype == np.float32
    fn(x).sum().backward()
    assert x.grad.dtype == np.float32
