"""Issue 19's primitives of the derivative table (engine/ops_more.py) against torch: values and
gradients of cumsum both ways, gather and scatter-add with repeated indices, prod with 0, 1 and 2
zeros, floor and round half to even, the zero gradients; and their error messages.
(First and second derivatives against central differences: test_op_table.py.)"""
import numpy as np
import pytest

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.engine import ops

torch = pytest.importorskip("torch")


def value_and_grad(op, x, weights, **constants):
    """op(x) and d(sum(weights * op(x)))/dx, ours; weights make each output's gradient distinct."""
    t = Tensor(x, requires_grad=True)
    out = tg.apply(op, t, **constants)
    (out * weights).sum().backward()
    return out.data, t.grad


def torch_value_and_grad(fn, x, weights):
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    (out * torch.tensor(weights)).sum().backward()
    return out.detach().numpy(), t.grad.numpy()


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_both_directions_against_torch(axis, reverse):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    flip = (lambda t: t.flip(axis)) if reverse else (lambda t: t)
    theirs = torch_value_and_grad(lambda t: flip(flip(t).cumsum(axis)), x, w)
    assert_same(value_and_grad(ops.Cumsum, x, w, axis=axis, reverse=reverse), theirs)


def test_cumsum_forward_reverse_is_the_running_sum_from_the_end():
    out = tg.apply(ops.Cumsum, Tensor(np.array([1.0, 2.0, 3.0])), axis=0, reverse=True)
    np.testing.assert_array_equal(out.data, [6.0, 5.0, 3.0])


@pytest.mark.parametrize("axis", [0, 1])
def test_gather_with_repeated_indices_against_torch(axis):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    index = np.array([[0, 0, 2], [2, 2, 2]]) if axis == 0 else np.array([[3, 3, 0, 3, 1], [1, 1, 1, 1, 1]])
    w = rng.standard_normal(index.shape)
    theirs = torch_value_and_grad(lambda t: torch.gather(t, axis, torch.tensor(index)), x, w)
    assert_same(value_and_grad(ops.Gather, x, w, axis=axis, index=index), theirs)


def test_scatter_add_with_repeated_indices_against_torch():
    rng = np.random.default_rng(2)
    index = np.array([[0, 0, 3], [2, 2, 2], [1, 0, 1]])
    values, w = rng.standard_normal(index.shape), rng.standard_normal((3, 4))
    theirs = torch_value_and_grad(
        lambda v: torch.zeros(3, 4, dtype=v.dtype).scatter_add(1, torch.tensor(index), v), values, w)
    assert_same(value_and_grad(ops.ScatterAdd, values, w, axis=1, index=index, shape=(3, 4)), theirs)
    out = tg.apply(ops.ScatterAdd, Tensor(np.ones((3, 3))), axis=1, index=index, shape=(3, 4))
    np.testing.assert_array_equal(out.data[1], [0, 0, 3, 0])     # a repeated index accumulates


@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True), ((0, 1), False)])
def test_prod_with_zeros_against_torch(zeros, axis, keepdims):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    x[1, [2, 0][:zeros]] = 0.0
    out_shape = np.prod(x, axis=axis, keepdims=keepdims).shape
    w = rng.standard_normal(out_shape)

    def theirs(t):
        if axis is None:
            return t.prod()
        if isinstance(axis, tuple):
            return t.prod(1).prod(0)
        return t.prod(axis, keepdim=keepdims)
    assert_same(value_and_grad(ops.Prod, x, w, axis=axis, keepdims=keepdims), torch_value_and_grad(theirs, x, w))


def test_prod_gradient_at_one_zero_is_the_product_of_the_others():
    x = Tensor(np.array([2.0, 0.0, 3.0, -1.5]), requires_grad=True)
    tg.apply(ops.Prod, x).backward()
    np.testing.assert_array_equal(x.grad, [0.0, -9.0, 0.0, 0.0])


def test_second_derivative_of_prod_against_torch():
    x = np.array([[2.0, -0.5, 3.0], [1.5, 0.7, -2.0]])
    t = Tensor(x, requires_grad=True)
    g, = tg.grad(tg.apply(ops.Prod, t, axis=1).sum(), t, create_graph=True)
    gg, = tg.grad((g * g).sum(), t)
    tt = torch.tensor(x, requires_grad=True)
    tg_, = torch.autograd.grad(tt.prod(1).sum(), tt, create_graph=True)
    tgg, = torch.autograd.grad((tg_ * tg_).sum(), tt)
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["floor", "ceil", "round", "trunc"])
def test_roundings_against_torch_with_zero_gradient(mode):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.2, 0.0, 3.0])
    w = np.arange(1.0, 11.0)
    theirs = torch_value_and_grad(getattr(torch, mode), x, w)
    ours = value_and_grad(ops.Rounding, x, w, mode=mode)
    assert_same(ours, theirs)
    assert np.all(ours[1] == 0)


def test_round_is_half_to_even():
    out = tg.apply(ops.Rounding, Tensor(np.array([0.5, 1.5, 2.5, -0.5, -2.5])), mode="round")
    np.testing.assert_array_equal(out.data, [0.0, 2.0, 2.0, -0.0, -2.0])


def test_sign_against_torch_with_zero_gradient():
    x, w = np.array([-2.0, 0.0, 0.3, -0.0]), np.array([1.0, 2.0, 3.0, 4.0])
    assert_same(value_and_grad(ops.Sign, x, w), torch_value_and_grad(torch.sign, x, w))


@pytest.mark.parametrize("name, torch_fn, lo", [("Sin", torch.sin, -3), ("Cos", torch.cos, -3),
                                                ("Expm1", torch.expm1, -3), ("Log1p", torch.log1p, -0.9)])
def test_elementwise_against_torch_to_second_order(name, torch_fn, lo):
    x = np.linspace(lo, 3, 7)
    t = Tensor(x, requires_grad=True)
    g, = tg.grad(tg.apply(getattr(ops, name), t).sum(), t, create_graph=True)
    gg, = tg.grad(g.sum(), t)
    tt = torch.tensor(x, requires_grad=True)
    tg_, = torch.autograd.grad(torch_fn(tt).sum(), tt, create_graph=True)
    tgg, = torch.autograd.grad(tg_.sum(), tt)
    np.testing.assert_allclose(tg.apply(getattr(ops, name), Tensor(x)).data, torch_fn(torch.tensor(x)).numpy(), rtol=1e-14)
    np.testing.assert_allclose(g.data, tg_.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=1e-13, atol=1e-15)


def test_expm1_and_log1p_keep_their_digits_near_zero():
    x = np.array([1e-12])
    assert tg.apply(ops.Expm1, Tensor(x)).data[0] == np.expm1(1e-12) != 0
    assert tg.apply(ops.Log1p, Tensor(x)).data[0] == np.log1p(1e-12) != 0


# ----- errors name the op, what it got and what it accepts ------------------------------------------

X = Tensor(np.zeros((3, 4)))


@pytest.mark.parametrize("index, message", [
    (np.array([0, 1]), r"gather: index must have as many dims as the input \(2\), got shape \(2,\)"),
    (np.array([[0, 4]]), r"gather: index out of range for dim 1 of size 4 \(got values from 0 to 4\)"),
    (np.array([[-1, 0]]), r"gather: index out of range for dim 1 of size 4"),
    (np.zeros((5, 1), np.int64), r"gather: index of shape \(5, 1\) is larger than the input's \(3, 4\) on dim 0"),
])
def test_gather_refuses_a_bad_index(index, message):
    with pytest.raises(RuntimeError, match=message):
        tg.apply(ops.Gather, X, axis=1, index=index)


def test_gather_refuses_a_float_index_and_a_bad_dim():
    with pytest.raises(TypeError, match="gather: index must be an integer array .*got float64"):
        tg.apply(ops.Gather, X, axis=1, index=np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match="gather: dim 2 is out of range for 2 dims"):
        tg.apply(ops.Gather, X, axis=2, index=np.zeros((3, 4), np.int64))


def test_scatter_add_refuses_values_not_of_the_index_shape():
    with pytest.raises(RuntimeError, match=r"scatter_add: values of shape \(2,\) must have index's shape \(1, 2\)"):
        tg.apply(ops.ScatterAdd, Tensor(np.zeros(2)), axis=1, index=np.array([[0, 1]]), shape=(3, 4))


def test_rounding_refuses_an_unknown_mode():
    with pytest.raises(TypeError, match=r"rounding: mode must be one of \['ceil', 'floor', 'round', 'trunc'\], got 'up'"):
        tg.apply(ops.Rounding, X, mode="up")
