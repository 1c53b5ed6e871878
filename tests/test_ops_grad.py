"""Every op: forward equals numpy and backward equals central differences (tg.gradcheck), on drawn shapes.

Values are float64 and drawn inside each op's domain: positive for log and fractional powers, away from
zero for the kinks of relu/abs and the pole of 1/x.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor
from tinygrad_ae.engine import numerics, ops
from strategies import (
    MATMUL_KINDS, array_pairs, arrays, arrays_with_axes, arrays_with_permutation, matmul_pairs,
    nonzero_arrays, positive_arrays, reshape_targets, shapes)


def assert_forward_matches(out, expected):
    """The op's output is a Tensor whose values equal numpy's, in float64, with numpy's shape."""
    assert isinstance(out, Tensor)
    expected = np.asarray(expected)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)


def stable_sigmoid(a):
    """Reference sigmoid written without overflow, independent of the engine's formula."""
    return np.exp(-np.logaddexp(0.0, -a))


# ---------------------------------------------------------------- unary ops (including scalar operands)

# name -> (Tensor function, numpy reference, strategy of arrays inside the op's domain)
UNARY = {
    "neg": (lambda t: -t, np.negative, arrays),
    "exp": (lambda t: t.exp(), np.exp, arrays),
    "log": (lambda t: t.log(), np.log, positive_arrays),
    "sigmoid": (lambda t: t.sigmoid(), stable_sigmoid, arrays),
    "tanh": (lambda t: t.tanh(), np.tanh, arrays),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0.0), nonzero_arrays),
    "softplus": (lambda t: t.softplus(), lambda a: np.logaddexp(0.0, a), arrays),
    "abs": (lambda t: t.abs(), np.abs, nonzero_arrays),
    "scalar-tensor": (lambda t: 1 - t, lambda a: 1 - a, arrays),
    "tensor-scalar": (lambda t: t - 1.5, lambda a: a - 1.5, arrays),
    "scalar+tensor": (lambda t: 0.5 + t, lambda a: 0.5 + a, arrays),
    "tensor+scalar": (lambda t: t + 2, lambda a: a + 2, arrays),
    "scalar*tensor": (lambda t: 2 * t, lambda a: 2 * a, arrays),
    "tensor*scalar": (lambda t: t * -0.5, lambda a: a * -0.5, arrays),
    "tensor/scalar": (lambda t: t / 3, lambda a: a / 3, arrays),
    "scalar/tensor": (lambda t: 3 / t, lambda a: 3 / a, nonzero_arrays),
    "square": (lambda t: t ** 2, lambda a: a ** 2, arrays),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op(name, data):
    fn, reference, domain = UNARY[name]
    x = data.draw(domain(data.draw(shapes())))
    assert_forward_matches(fn(Tensor(x)), reference(x))
    assert tg.gradcheck(fn, x) is True


INTEGER_EXPONENTS = [0, 1, 2, 3, -1, -2]
FRACTIONAL_EXPONENTS = [0.5, 1.5, 2.5, -0.5, -1.5, 1 / 3]


@given(data=st.data(), exponent=st.sampled_from(INTEGER_EXPONENTS))
def test_pow_integer_exponent_on_nonzero_values(data, exponent):
    x = data.draw(nonzero_arrays(data.draw(shapes()), margin=0.3))
    fn = lambda t: t ** exponent  # noqa: E731
    assert_forward_matches(fn(Tensor(x)), np.power(x, float(exponent)))
    assert tg.gradcheck(fn, x) is True


@given(data=st.data(), exponent=st.sampled_from(FRACTIONAL_EXPONENTS))
def test_pow_fractional_and_negative_exponent_on_positive_values(data, exponent):
    x = data.draw(positive_arrays(data.draw(shapes()), lo=0.3))
    fn = lambda t: t ** exponent  # noqa: E731
    assert_forward_matches(fn(Tensor(x)), np.power(x, exponent))
    assert tg.gradcheck(fn, x) is True


def test_pow_derivative_by_hand():
    x = Tensor(np.array([0.25, 1.0, 4.0]), requires_grad=True)
    (x ** -1.5).sum().backward()
    np.testing.assert_allclose(x.grad, -1.5 * np.array([0.25, 1.0, 4.0]) ** -2.5, rtol=1e-13)


def test_pow_zero_exponent_has_zero_gradient_everywhere():
    x = Tensor(np.array([0.0, 1.0, -2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("op", ["relu", "abs"])
def test_kinks_have_zero_gradient_at_zero_as_pytorch(op):
    x = Tensor(np.array([0.0, 0.0]), requires_grad=True)
    getattr(x, op)().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


# ---------------------------------------------------------------- binary ops with broadcasting

BINARY = {
    "add": (lambda a, b: a + b, np.add, arrays),
    "sub": (lambda a, b: a - b, np.subtract, arrays),
    "mul": (lambda a, b: a * b, np.multiply, arrays),
    "div": (lambda a, b: a / b, np.divide, nonzero_arrays),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_broadcasting(name, data):
    fn, reference, denominator_domain = BINARY[name]
    a, b = data.draw(array_pairs(second=denominator_domain))
    assert_forward_matches(fn(Tensor(a), Tensor(b)), reference(a, b))
    assert tg.gradcheck(fn, a, b) is True


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_grads_have_each_inputs_shape(name, data):
    """Gradients are summed back to each input's own shape, whatever the broadcast did."""
    fn, _, denominator_domain = BINARY[name]
    a, b = data.draw(array_pairs(second=denominator_domain))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    fn(ta, tb).sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    assert ta.grad.dtype == np.float64 and tb.grad.dtype == np.float64
    # For add and sub the values are known by hand: each element's gradient is +-(how many outputs it reaches);
    # mul and div values are covered by gradcheck in test_binary_op_broadcasting.
    out_size = int(np.prod(np.broadcast_shapes(a.shape, b.shape)))
    reach_a, reach_b = out_size // a.size, out_size // b.size
    if name == "add":
        np.testing.assert_allclose(ta.grad, np.full(a.shape, reach_a))
        np.testing.assert_allclose(tb.grad, np.full(b.shape, reach_b))
    elif name == "sub":
        np.testing.assert_allclose(ta.grad, np.full(a.shape, reach_a))
        np.testing.assert_allclose(tb.grad, np.full(b.shape, -reach_b))


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_with_one_operand_constant(name, data):
    """Only the input that requires grad gets a gradient; the constant's stays None."""
    fn, _, denominator_domain = BINARY[name]
    a, b = data.draw(array_pairs(second=denominator_domain))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b)
    fn(ta, tb).sum().backward()
    assert tb.grad is None
    assert ta.grad.shape == a.shape
    assert tg.gradcheck(lambda t: fn(t, Tensor(b)), a) is True


# ---------------------------------------------------------------- matmul

@pytest.mark.parametrize("kind", MATMUL_KINDS)
@given(data=st.data())
def test_matmul(kind, data):
    a, b = data.draw(matmul_pairs(kind))
    assert_forward_matches(Tensor(a) @ Tensor(b), np.matmul(a, b))
    assert tg.gradcheck(lambda x, y: x @ y, a, b) is True


def test_matmul_gradient_by_hand():
    a = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    b = Tensor(np.array([5.0, -1.0]), requires_grad=True)
    (a @ b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[5.0, -1.0], [5.0, -1.0]])  # each row gets b
    np.testing.assert_array_equal(b.grad, [4.0, 6.0])  # column sums of a


# ---------------------------------------------------------------- reductions

@given(args=arrays_with_axes())
def test_sum(args):
    x, axis, keepdims = args
    fn = lambda t: t.sum(axis=axis, keepdims=keepdims)  # noqa: E731
    assert_forward_matches(fn(Tensor(x)), np.sum(x, axis=axis, keepdims=keepdims))
    assert tg.gradcheck(fn, x) is True


@given(args=arrays_with_axes())
def test_mean(args):
    x, axis, keepdims = args
    fn = lambda t: t.mean(axis=axis, keepdims=keepdims)  # noqa: E731
    assert_forward_matches(fn(Tensor(x)), np.mean(x, axis=axis, keepdims=keepdims))
    assert tg.gradcheck(fn, x) is True


@given(args=arrays_with_axes())
def test_functional_mean_matches_method(args):
    x, axis, keepdims = args
    assert_forward_matches(F.mean(Tensor(x), axis=axis, keepdims=keepdims), np.mean(x, axis=axis, keepdims=keepdims))
    assert tg.gradcheck(lambda t: F.mean(t, axis=axis, keepdims=keepdims), x) is True


def test_sum_and_mean_positional_axis():
    x = np.arange(6.0).reshape(2, 3)
    assert_forward_matches(Tensor(x).sum(1), x.sum(1))
    assert_forward_matches(Tensor(x).mean(0, True), x.mean(0, keepdims=True))


def test_mean_gradient_by_hand():
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    x.mean(axis=(0, -1)).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3, 4), 1 / 8))


# ---------------------------------------------------------------- movement

@given(args=reshape_targets())
def test_reshape(args):
    x, target = args
    fn = lambda t: t.reshape(*target)  # noqa: E731
    assert_forward_matches(fn(Tensor(x)), x.reshape(target))
    assert_forward_matches(Tensor(x).reshape(target), x.reshape(target))  # a tuple, as numpy takes it
    assert tg.gradcheck(fn, x) is True


@given(args=arrays_with_permutation())
def test_permute_with_axes(args):
    x, axes = args
    fn = lambda t: t.permute(*axes)  # noqa: E731 (numpy's transpose(axes) is torch's permute)
    assert_forward_matches(fn(Tensor(x)), np.transpose(x, axes))
    assert tg.gradcheck(fn, x) is True


@given(data=st.data())
def test_T_reverses_axes_and_transpose_needs_two_dims(data):
    x = data.draw(arrays(data.draw(shapes())))
    assert_forward_matches(Tensor(x).T, x.T)
    assert tg.gradcheck(lambda t: t.T, x) is True
    with pytest.raises(TypeError, match="transpose.*two dims.*permute"):
        Tensor(x).transpose()       # torch's transpose(dim0, dim1) swaps two dims; no argument is an error


def test_transpose_with_negative_axes():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    weights = np.arange(24.0).reshape(4, 2, 3)
    (x.permute(-1, 0, 1) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, np.transpose(weights, (1, 2, 0)))


def test_reductions_accept_numpy_integer_axes():
    x = np.arange(6.0).reshape(2, 3)
    assert_forward_matches(Tensor(x).sum(axis=np.int64(1)), x.sum(axis=1))
    assert_forward_matches(Tensor(x).mean(axis=(np.int64(0), np.int64(-1))), x.mean(axis=(0, -1)))
    assert tg.gradcheck(lambda t: t.mean(axis=np.int64(-1)), x) is True


def test_transpose_gradient_lands_in_original_layout():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    weights = np.arange(24.0).reshape(4, 2, 3)
    (x.permute(2, 0, 1) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, np.transpose(weights, (1, 2, 0)))


# ---------------------------------------------------------------- composites and functional aliases

@given(data=st.data())
def test_composed_expression(data):
    """A small network-like expression mixing every kind of op, with broadcasting."""
    x = data.draw(arrays((3, 4)))
    w = data.draw(arrays((4, 2)))
    b = data.draw(arrays((2,)))
    fn = lambda x, w, b: ((x @ w + b).sigmoid() * 2 - 1).tanh().softplus().mean(axis=0)  # noqa: E731
    assert tg.gradcheck(fn, x, w, b) is True


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus"])
@given(data=st.data())
def test_functional_alias_smooth(name, data):
    x = data.draw(arrays(data.draw(shapes())))
    fn = getattr(F, name)
    assert_forward_matches(fn(Tensor(x)), getattr(Tensor(x), name)().data)
    assert tg.gradcheck(fn, x) is True


@pytest.mark.parametrize("name", ["relu", "abs"])
@given(data=st.data())
def test_functional_alias_kinked(name, data):
    x = data.draw(nonzero_arrays(data.draw(shapes())))
    fn = getattr(F, name)
    assert_forward_matches(fn(Tensor(x)), getattr(Tensor(x), name)().data)
    assert tg.gradcheck(fn, x) is True


def test_smooth_ops_gradient_at_zero():
    """Exact derivatives at 0, where a composite built from relu/abs could pick the wrong side of a kink."""
    for op, expected in [("sigmoid", 0.25), ("tanh", 1.0), ("softplus", 0.5), ("exp", 1.0)]:
        x = Tensor(np.zeros(3), requires_grad=True)
        getattr(x, op)().sum().backward()
        np.testing.assert_allclose(x.grad, np.full(3, expected), rtol=1e-15, err_msg=op)


# ---------------------------------------------------------------- numpy's error state, set cheaply

def test_sigmoid_ignores_only_overflow_and_gives_the_callers_error_state_back():
    x = np.array([-200.0, 0.0, 200.0], np.float32)         # exp(200) overflows float32: 1/(1 + inf) = 0 is exact
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise"):
            np.testing.assert_array_equal(Tensor(x).sigmoid().data, [0.0, 0.5, 1.0])
            assert np.geterr()["over"] == "raise" and np.geterr()["divide"] == "raise"


def test_error_state_follows_the_state_it_is_entered_from():
    ignore_overflow = numerics.ErrorState({"over": "ignore"})
    for outer in ({"divide": "raise"}, {"divide": "ignore"}, {"divide": "raise"}):  # the cached state is redone
        with np.errstate(**outer):
            before = np.geterr()
            token = ignore_overflow.enter()
            try:
                assert np.geterr() == dict(before, over="ignore")
            finally:
                numerics.ErrorState.exit(token)
            assert np.geterr() == before


# ---------------------------------------------------------------- numerics.py's faster spellings equal the plain ones

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_from_exp_neg_abs_is_the_sigmoid(dtype):
    """max(e, a >= 0) / (1 + e) with e = exp(-|a|): within 2 ulp of the exact sigmoid at every scale, both
    signs, the zeros, +-1000 and the infinities (no warning), and NaN stays NaN."""
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.integers(-8, 3, 500),
                        [0.0, -0.0, 1000.0, -1000.0, np.inf, -np.inf, 80.0, -80.0, 700.0, -700.0]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = numerics.sigmoid_from_exp_neg_abs(a, np.exp(-np.abs(a)))
    exact = 1.0 / (1.0 + np.exp(-a.astype(np.longdouble)))
    assert s.dtype == dtype
    np.testing.assert_array_max_ulp(s, exact.astype(dtype), maxulp=2)
    assert np.isnan(numerics.sigmoid_from_exp_neg_abs(np.array([np.nan], dtype), np.array([np.nan], dtype)))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_forward_is_the_matmul_operator_bit_for_bit(dtype):
    """Linear's forward spells x @ W.T as np.dot on matrices: the same BLAS call, the same bits."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((256, 784)).astype(dtype), rng.standard_normal((128, 784)).astype(dtype)
    forward = ops.Linear().forward
    np.testing.assert_array_equal(forward(x, w), x @ w.T)                  # np.dot, on matrices
    batch = rng.standard_normal((3, 5, 784)).astype(dtype)
    np.testing.assert_array_equal(forward(batch, w), batch @ w.T)          # @ itself, beyond matrices
    np.testing.assert_array_equal(forward(x[0], w), x[0] @ w.T)
