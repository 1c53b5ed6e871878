"""Engine behaviour: construction and dtypes, graph shapes (reuse, diamonds, long chains), accumulation,
retain_graph, no_grad, error messages, numerical care at extreme inputs and memory freed without gc."""
import gc
import re
import sys
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------- construction, dtypes, attributes

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_array_keeps_its_dtype(dtype):
    data = np.arange(6, dtype=dtype).reshape(2, 3)
    t = Tensor(data)
    assert t.dtype == dtype and t.data.dtype == dtype
    np.testing.assert_array_equal(t.data, data)


@pytest.mark.parametrize("data", [2.5, 3, True, [1, 2, 3], [[1.5, 2.5]], np.arange(4), np.array([True, False])],
                         ids=["float", "int", "bool", "int-list", "float-list", "int-array", "bool-array"])
def test_python_scalars_lists_and_integer_arrays_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float32))


@pytest.mark.parametrize("data, word", [
    (np.array([1.0, "a"], dtype=object), "object"),
    ("abc", "str"),
    (np.array(["a", "b"]), "<U1"),
    ([1.0, "x"], "<U"),
    (None, "None"),
])
def test_non_numeric_data_is_refused_naming_what_was_given(data, word):
    with pytest.raises(TypeError, match=re.escape(word)):
        Tensor(data)


LONGDOUBLE_OPERANDS = {
    "tensor * scalar": lambda x: x * np.longdouble(2),
    "scalar + tensor": lambda x: np.longdouble(2) + x,
    "tensor - 0-d array": lambda x: x - np.array(2, dtype=np.longdouble),
    "tensor / array": lambda x: x / np.full(2, 2, dtype=np.longdouble),
    "pow": lambda x: x ** np.longdouble(2),
    "maximum": lambda x: tg.maximum(x, np.longdouble(0.5)),
}


@pytest.mark.parametrize("combine", LONGDOUBLE_OPERANDS.values(), ids=LONGDOUBLE_OPERANDS.keys())
def test_longdouble_operands_are_refused_saying_to_use_float64(combine):
    """np.longdouble's .item() is a longdouble again: as an operand it made apply recurse forever."""
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=r"longdouble\) is not supported; use float64"):
        combine(x)
    assert x.grad is None


def test_longdouble_tensors_are_refused_at_construction():
    """0-d long-double tensors recursed in tg.maximum's backward under create_graph; now none are made.
    The same graph in float64 is the control: its second-order gradient works."""
    refusal = rf"Tensor: {np.dtype(np.longdouble)} \(np.longdouble\) is not supported; use float64"
    for data in (np.longdouble(1.5), np.array(1.5, dtype=np.longdouble), np.ones((2, 2), dtype=np.longdouble)):
        with pytest.raises(TypeError, match=refusal):
            Tensor(data, requires_grad=True)
    a, b = leaf(1.5), leaf(0.5)
    y = tg.maximum(a * a, b)
    y.backward(create_graph=True)
    assert a.grad.item() == 3.0 and b.grad.item() == 0.0
    first = a.grad
    a.grad = None
    first.backward()
    assert a.grad.item() == 2.0
    # lists of long doubles become float32, as every list does
    assert Tensor([np.longdouble(1.5)]).dtype == np.float32


def test_attributes():
    t = Tensor(np.zeros((2, 3, 4)), requires_grad=True, name="x")
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.numel() == 24 and t.size() == (2, 3, 4) and t.dtype == np.float64
    assert t.requires_grad is True and t.grad is None and t.name == "x"
    assert Tensor(np.zeros(3)).requires_grad is False


def test_numpy_returns_the_values():
    data = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = Tensor(data).numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, data)


def test_item_returns_a_python_float():
    for data in [np.array(2.5), np.array([2.5]), np.array([[2.5]], dtype=np.float32)]:
        value = Tensor(data).item()
        assert type(value) is float and value == 2.5


def test_item_of_several_elements_is_an_error():
    with pytest.raises(ValueError):
        Tensor(np.array([1.0, 2.0])).item()


def test_detach_shares_data_and_drops_the_graph():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    d = y.detach()
    assert np.shares_memory(d.data, y.data)
    assert d.requires_grad is False and d.grad is None
    z = d * 3
    assert z.requires_grad is False
    with pytest.raises(RuntimeError, match="does not require grad"):
        z.sum().backward()


def test_repr_shows_values_shape_dtype_and_requires_grad():
    text = repr(Tensor(np.array([[1.5, 2.0]], dtype=np.float32), requires_grad=True))
    assert "1.5" in text
    assert "(1, 2)" in text
    assert "float32" in text
    assert "requires_grad=True" in text


def test_full_reduction_data_is_a_zero_dim_ndarray():
    """.data is always an ndarray (the API's promise), not a numpy scalar, so out= writes work on it."""
    total = leaf([0.5, -1.0, 2.0]).sum()
    assert isinstance(total.data, np.ndarray) and total.shape == ()


@pytest.mark.parametrize("op", ["exp", "log", "sigmoid", "tanh", "relu", "softplus", "abs"])
def test_unary_ops_accept_zero_dim_inputs(op):
    x = leaf([0.5, 0.25, 0.75])
    y = getattr(x.sum(), op)()  # the input is the result of a full reduction
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == (3,) and np.all(np.isfinite(x.grad))
    z = getattr(Tensor(np.array(1.5)), op)()  # and a 0-d array given by the user
    assert z.shape == ()


def test_zero_dim_leaf_gradient():
    scalar = Tensor(np.array(0.0), requires_grad=True)
    (scalar.sigmoid() + scalar.tanh() + scalar.exp()).backward()
    np.testing.assert_allclose(scalar.grad, 0.25 + 1.0 + 1.0, rtol=1e-15)
    assert isinstance(scalar.grad, np.ndarray) and scalar.grad.shape == ()


def test_requires_grad_propagates_only_from_inputs_that_require_it():
    a, c = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    assert (a * c).requires_grad is True
    assert (c * 2 + c).exp().requires_grad is False


# ---------------------------------------------------------------- dtype through forward and backward

def float_expression(x, w, b):
    """Uses every op at least once, with Python scalars on both sides."""
    h = (x @ w + b).sigmoid()
    y = (1 - h) * 2 + h / 3 - 3 / (h + 1) + h ** 2 + (-h).exp().log() + h.tanh()
    z = y.relu() + y.softplus() + y.abs() + y.reshape(-1).reshape(*y.shape).T.transpose(0, 1)
    return z.mean(axis=0, keepdims=True).sum() - z.mean()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_through_forward_and_backward(dtype):
    rng = np.random.default_rng(0)
    x, w, b = (leaf(rng.standard_normal(shape), dtype) for shape in [(5, 3), (3, 4), (4,)])
    loss = float_expression(x, w, b)
    assert loss.dtype == dtype
    loss.backward()
    for t in (x, w, b):
        assert t.grad.dtype == dtype and t.grad.shape == t.shape


@pytest.mark.parametrize("number", [2, 0.5, np.float64(0.5), np.int64(3), np.float32(0.5)],
                         ids=["int", "float", "np.float64", "np.int64", "np.float32"])
def test_scalar_operands_do_not_change_float32(number):
    """Any scalar, numpy scalars included, acts as a Python number does (as in PyTorch): float32 stays float32."""
    x = leaf([1.0, 2.0], np.float32)
    results = [x + number, number + x, x - number, number - x, x * number, number * x,
               x / number, number / x, x ** number]
    assert [r.dtype for r in results] == [np.float32] * len(results)
    sum(results[1:], results[0]).sum().backward()
    assert x.grad.dtype == np.float32


def test_float32_values_agree_with_float64():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(shape) for shape in [(5, 3), (3, 4), (4,)]]
    lo, hi = [leaf(a, np.float32) for a in arrays], [leaf(a, np.float64) for a in arrays]
    loss32, loss64 = float_expression(*lo), float_expression(*hi)
    loss32.backward(), loss64.backward()
    np.testing.assert_allclose(loss32.item(), loss64.item(), rtol=1e-5)
    for t32, t64 in zip(lo, hi):
        np.testing.assert_allclose(t32.grad, t64.grad, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- graph shapes: reuse, diamonds, leaves

def test_reuse_in_multiplication():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])


def test_reuse_in_addition():
    x = leaf([1.0, -2.0, 3.0])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_diamond_graph():
    x = leaf([0.5, -1.0, 2.0])
    a, b = x * 2, x * 3
    (a * b).sum().backward()  # 6 x^2
    np.testing.assert_allclose(x.grad, 12 * np.array([0.5, -1.0, 2.0]), rtol=1e-15)


def test_diamond_through_a_shared_intermediate():
    values = np.array([0.1, -0.7, 1.3])
    x = leaf(values)
    y = x.exp()
    (y * y + y).sum().backward()  # e^{2x} + e^x
    np.testing.assert_allclose(x.grad, 2 * np.exp(2 * values) + np.exp(values), rtol=1e-14)


def test_grads_accumulate_into_every_leaf_and_only_leaves():
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, -4.0]), leaf([0.5, 0.25])
    constant = Tensor(np.array([10.0, 20.0]))
    ab = a * b
    hidden = ab + c * constant
    loss = hidden.sum()
    loss.backward()
    np.testing.assert_array_equal(a.grad, [3.0, -4.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0])
    np.testing.assert_array_equal(c.grad, [10.0, 20.0])
    assert constant.grad is None
    assert ab.grad is None and hidden.grad is None and loss.grad is None


def test_gradients_accumulate_across_separate_graphs():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_long_chain_at_default_recursion_limit():
    """100,000 ops: x -> x * 1.0001 -> - 0.5 -> ..., so d(out)/dx = 1.0001 ** 50,000 exactly enough by hand."""
    default_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default, in case something raised it
    try:
        x = leaf(1.5)
        y, expected_value = x, 1.5
        for _ in range(50_000):
            y = y * 1.0001 - 0.5
            expected_value = expected_value * 1.0001 - 0.5
        y.backward()
        assert sys.getrecursionlimit() == 1000
        np.testing.assert_allclose(y.item(), expected_value, rtol=1e-9)
        np.testing.assert_allclose(x.grad, 1.0001 ** 50_000, rtol=1e-9)
        del y  # freeing a 100,000-deep chain must not overflow the stack either
    finally:
        sys.setrecursionlimit(default_limit)


# ---------------------------------------------------------------- backward: seeds, retain_graph, errors

def test_backward_on_non_scalar_without_grad_is_an_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        (x * 2).backward()


def test_backward_with_explicit_grad():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    seed = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    (x * x).backward(seed)
    np.testing.assert_array_equal(x.grad, 2 * x.data * seed)


def test_seed_is_never_modified_and_leaves_never_share_a_grad_array():
    a, b = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf([[5.0, 6.0], [7.0, 8.0]])
    seed = np.array([[1.0, -1.0], [0.5, 2.0]])
    out = (a + b).reshape(4).reshape(2, 2)  # gradients pass straight through: the seed itself flows down
    out.backward(seed, retain_graph=True)
    out.backward(seed)
    np.testing.assert_array_equal(seed, [[1.0, -1.0], [0.5, 2.0]])
    np.testing.assert_array_equal(a.grad, 2 * seed)
    np.testing.assert_array_equal(b.grad, 2 * seed)
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, seed)


def test_backward_with_wrong_shape_grad_is_an_error():
    x = leaf([1.0, 2.0])
    with pytest.raises((ValueError, RuntimeError)):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_not_requiring_grad():
    t = Tensor(np.array([1.0, 2.0])).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        t.backward()


def test_second_backward_without_retain_graph_is_an_error():
    x = leaf([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_fused_losses_give_the_same_gradient_with_and_without_retain_graph(loss):
    # the squared error's first backward reads the residual its forward kept; a second pass (retain_graph)
    # and a recorded pass (create_graph) compute it again: all three give the same array, bit for bit
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.1, 0.9, (80, 80))
    target = rng.uniform(0, 1, (80, 80))
    fn = (tg.functional.mse_loss if loss == "mse" else tg.functional.binary_cross_entropy_with_logits)
    x = Tensor(pred.copy(), requires_grad=True)
    out = fn(x, Tensor(target), reduction="sum")
    out.backward(retain_graph=True)
    first = x.grad.copy()
    out.backward()                                  # frees the graph
    expected = 2 * (pred - target) if loss == "mse" else 1 / (1 + np.exp(-pred)) - target
    np.testing.assert_allclose(first, expected, rtol=1e-12)
    np.testing.assert_array_equal(x.grad, 2 * first)
    recorded = Tensor(pred.copy(), requires_grad=True)
    fn(recorded, Tensor(target), reduction="sum").backward(create_graph=True)
    np.testing.assert_array_equal(recorded.grad.data, first)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logistic_loss_gradient_from_the_saved_exp_equals_the_one_computed_again(dtype):
    """BCEWithLogitsSum's forward keeps e = exp(-|a|) for its backward's sigmoid; a second pass
    (retain_graph) and a recorded pass (create_graph) compute e again: the same gradient, bit for
    bit, on logits of both signs, at 0 and at +-1000, on an array the size of the mnist logits."""
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((256, 784)) * 4).astype(dtype)
    a[0, :6] = [0.0, -0.0, 1000.0, -1000.0, 1e-30, -1e-30]
    target = (rng.random((256, 784)) > 0.5).astype(dtype)
    x, t = Tensor(a.copy(), requires_grad=True), Tensor(target, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # silent at +-1000 as well
        out = tg.functional.binary_cross_entropy_with_logits(x, t, reduction="batchmean")
        out.backward(retain_graph=True)
        first, first_t = x.grad.copy(), t.grad.copy()
        out.backward()
        recorded = Tensor(a.copy(), requires_grad=True)
        tg.functional.binary_cross_entropy_with_logits(recorded, Tensor(target), reduction="batchmean").backward(
            create_graph=True)
    assert first.dtype == dtype and np.all(np.isfinite(first))
    np.testing.assert_array_equal(x.grad, 2 * first)
    np.testing.assert_array_equal(t.grad, 2 * first_t)
    np.testing.assert_array_equal(recorded.grad.data, first)
    sigmoid = np.exp(-np.logaddexp(0, -a.astype(np.float64)))
    eps = np.finfo(dtype).eps                          # (s - x cancels where s is near x: an absolute bound)
    np.testing.assert_allclose(first, (sigmoid - target) / 256, rtol=4 * eps, atol=4 * eps / 256)


def test_logistic_loss_second_derivative_is_the_sigmoids_at_zero_too():
    """The recorded backward builds exp(-|a|) branch by branch (a >= 0 or not), so d2L/da2 at a = 0
    is sigmoid'(0) = 1/4, not the 0 a kink of |a| would give."""
    a = leaf([0.0, -0.0, 2.0, -3.0, 1e-30])
    loss = tg.functional.binary_cross_entropy_with_logits(a, Tensor(np.full(5, 0.5)), reduction="sum")
    first, = tg.grad(loss, a, create_graph=True)
    second, = tg.grad(first.sum(), a)
    s = 1 / (1 + np.exp(-a.data))
    np.testing.assert_allclose(first.data, s - 0.5, rtol=1e-15, atol=1e-17)
    np.testing.assert_allclose(second.data, s * (1 - s), rtol=1e-14)


def test_retain_graph_allows_a_second_backward_that_accumulates():
    values = np.array([1.0, -2.0])
    x = leaf(values)
    loss = (x.sigmoid() * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    s = 1 / (1 + np.exp(-values))
    np.testing.assert_allclose(first, s + values * s * (1 - s), rtol=1e-14)
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


# ---------------------------------------------------------------- no_grad

def test_no_grad_context_manager():
    x = leaf([1.0, 2.0])
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2).exp() @ x
    assert tg.is_grad_enabled()
    assert y.requires_grad is False
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert x.grad is None


def test_no_grad_decorator():
    @tg.no_grad()
    def double(t):
        assert not tg.is_grad_enabled()
        return t * 2

    y = double(leaf([1.0]))
    assert y.requires_grad is False
    assert tg.is_grad_enabled()


def test_no_grad_restores_grad_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def fail():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fail()
    assert tg.is_grad_enabled()


def test_nested_no_grad():
    with tg.no_grad():
        with tg.no_grad():
            pass
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_no_grad_results_do_not_keep_their_inputs_alive():
    with tg.no_grad():
        x = leaf([1.0, 2.0])
        y = (x * 2).exp()
    x_ref = weakref.ref(x)
    del x
    assert x_ref() is None  # y holds no node pointing back at x
    assert y.requires_grad is False


def test_graph_built_before_no_grad_still_backprops():
    x = leaf([3.0])
    y = x * x
    with tg.no_grad():
        y * 5
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0])


# ---------------------------------------------------------------- error messages

def test_matmul_shape_mismatch_names_op_and_both_shapes():
    a, b = Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(2, 3\)"):
        a @ b
    with pytest.raises(ValueError, match=r"matmul.*\(3,\).*\(4,\)"):
        Tensor(np.zeros(3)) @ Tensor(np.zeros(4))
    with pytest.raises(ValueError, match=r"matmul.*\(5,\).*\(2, 3\)"):
        Tensor(np.zeros(5)) @ Tensor(np.zeros((2, 3)))


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"),
    (lambda a, b: a * b, "mul"), (lambda a, b: a / b, "div"),
])
def test_binary_broadcast_failure_names_op_and_both_shapes(op, name):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones(4))
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\).*\(4,\)"):
        op(a, b)


# ---------------------------------------------------------------- numerical care at extreme inputs

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_plus_minus_1000(dtype):
    x = leaf([-1000.0, 1000.0, 0.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, np.array([0.0, 1.0, 0.5], dtype=dtype))
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_array_equal(x.grad, np.array([0.0, 0.0, 0.25], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_at_plus_minus_1000(dtype):
    x = leaf([-1000.0, 1000.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.softplus()
        y.sum().backward()
    np.testing.assert_array_equal(y.data, np.array([0.0, 1000.0], dtype=dtype))
    np.testing.assert_array_equal(x.grad, np.array([0.0, 1.0], dtype=dtype))


def test_softplus_gradient_across_the_range():
    values = np.array([-40.0, -5.0, -0.5, 0.0, 0.5, 5.0, 40.0])
    x = leaf(values)
    x.softplus().sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(-np.logaddexp(0.0, -values)), rtol=1e-14, atol=1e-300)


def test_log_of_zero_is_minus_infinity_with_numpys_warning():
    """Documented: log behaves as numpy's, -inf and numpy's divide-by-zero RuntimeWarning included."""
    x = leaf([0.0, 1.0])
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y = x.log()
    np.testing.assert_array_equal(y.data, [-np.inf, 0.0])


def test_tanh_and_exp_backward_at_large_inputs():
    x = leaf([-30.0, 30.0])
    x.tanh().sum().backward()
    np.testing.assert_allclose(x.grad, 1 - np.tanh([-30.0, 30.0]) ** 2, atol=1e-300)


# ---------------------------------------------------------------- memory: freed by reference counting alone

def traced_bytes_after_step(x, w, retain_graph, backward=True):
    """Runs one training-like step, drops the loss, and returns (peak during, traced after) in bytes."""
    loss = (x @ w).sigmoid().sum()
    if backward:
        loss.backward(retain_graph=retain_graph)
    during = tracemalloc.get_traced_memory()[0]
    del loss
    return during, tracemalloc.get_traced_memory()[0]


@pytest.mark.parametrize("retain_graph, backward", [(False, True), (True, True), (False, False)],
                         ids=["backward", "backward-retain-graph", "forward-only"])
def test_graph_freed_with_gc_disabled(retain_graph, backward):
    n = 1000
    one_array = n * n * 8
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((n, n)) / n, requires_grad=True)
    w = Tensor(rng.standard_normal((n, n)) / n, requires_grad=True)
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        traced_bytes_after_step(x, w, retain_graph, backward)  # first step allocates x.grad and w.grad
        before = tracemalloc.get_traced_memory()[0]
        during, after = traced_bytes_after_step(x, w, retain_graph, backward)
    finally:
        tracemalloc.stop()
        gc.enable()
    if retain_graph or not backward:
        assert during - before >= one_array  # the graph really held the (n, n) intermediates
    assert after - before < one_array // 4, f"{(after - before) / one_array:.2f} (n, n) arrays still alive"


@pytest.mark.parametrize("retain_graph", [False, True])
def test_intermediates_die_with_the_loss_with_gc_disabled(retain_graph):
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))
    w = leaf(np.linspace(0, 1, 12).reshape(3, 4))
    gc.disable()
    try:
        hidden = x @ w
        activation = hidden.sigmoid()
        loss = (activation * activation).mean()
        refs = [weakref.ref(t) for t in (hidden, activation, loss)]
        del hidden, activation
        loss.backward(retain_graph=retain_graph)
        assert all(r() is not None for r in refs[2:])
        del loss
        assert [r() for r in refs] == [None, None, None]
    finally:
        gc.enable()
    assert x.grad.shape == (2, 3) and w.grad.shape == (3, 4)
