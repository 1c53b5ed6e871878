"""Every primitive of the derivative table, first and second derivatives against central differences.

The table in op_table.py drives the tests: a primitive without an entry fails the first test. Each
entry runs the shipped gradcheck (backward() on arrays) and gradgradcheck (the same formulas run on
Tensors with create_graph=True, then differentiated again), in float64, on hypothesis-drawn inputs.
The table keeps no size-dependent variant of any formula, so small arrays cover every path.
"""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.engine import ops, ops_more
from op_table import OP_TABLE

PRIMITIVES = sorted({name for module in (ops, ops_more) for name, cls in vars(module).items()
                     if inspect.isclass(cls) and issubclass(cls, ops.Function) and cls is not ops.Function})


def test_every_primitive_of_the_continued_table_is_named_in_ops():
    missing = [name for name, cls in vars(ops_more).items() if inspect.isclass(cls)
               and issubclass(cls, ops.Function) and cls is not ops.Function and getattr(ops, name, None) is not cls]
    assert not missing, f"import these from ops_more at the end of ops.py: {missing}"


def test_every_primitive_has_an_entry_in_the_test_table():
    missing = [name for name in PRIMITIVES if name not in OP_TABLE]
    assert not missing, f"add an entry (fn and input domain) to tests/op_table.py for: {missing}"
    assert not set(OP_TABLE) - set(PRIMITIVES), "op_table.py names a primitive ops.py does not have"


@pytest.mark.parametrize("name", PRIMITIVES)
@settings(max_examples=25)
@given(case=st.data())
def test_first_and_second_derivatives_match_central_differences(name, case):
    fn, arrays = case.draw(OP_TABLE[name])
    out = fn(*[Tensor(a) for a in arrays])
    assert out.dtype == np.float64
    assert tg.gradcheck(fn, *arrays) is True
    assert tg.gradgradcheck(fn, *arrays) is True


@pytest.mark.parametrize("name", PRIMITIVES)
@settings(max_examples=10)
@given(case=st.data())
def test_float32_stays_float32_through_forward_and_backward(name, case):
    fn, arrays = case.draw(OP_TABLE[name])
    tensors = [Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in tensors:
        assert t.grad is None or t.grad.dtype == np.float32


def test_second_derivative_of_sigmoid_is_the_closed_form():
    x = Tensor(np.linspace(-4, 4, 9), requires_grad=True)
    first, = tg.grad(x.sigmoid().sum(), x, create_graph=True)
    second, = tg.grad(first.sum(), x)
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(first.data, s * (1 - s), rtol=1e-14)
    np.testing.assert_allclose(second.data, s * (1 - s) * (1 - 2 * s), rtol=1e-12, atol=1e-15)


def test_third_derivative_of_tanh():
    x = Tensor(np.array([-0.7, 0.1, 1.3]), requires_grad=True)
    g1, = tg.grad(x.tanh().sum(), x, create_graph=True)
    g2, = tg.grad(g1.sum(), x, create_graph=True)
    g3, = tg.grad(g2.sum(), x)
    y = np.tanh(x.data)
    np.testing.assert_allclose(g2.data, -2 * y * (1 - y ** 2), rtol=1e-12)
    np.testing.assert_allclose(g3.data, (1 - y ** 2) * (6 * y ** 2 - 2), rtol=1e-12)


class CubeWithDetachedBackward(ops.Function):
    """x ** 3 whose backward is right to first order but reads x as a constant (np.asarray leaves the
    graph), so its second derivative is wrong: gradgradcheck must catch it."""
    __slots__ = ()

    def forward(self, x):
        return x ** 3

    def backward(self, grad, out, x):
        return (grad * 3 * np.asarray(x) ** 2,)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = np.array([0.5, -1.0, 2.0])
    assert tg.gradcheck(lambda t: tg.apply(CubeWithDetachedBackward, t), x) is True
    with pytest.raises(AssertionError, match="gradcheck: input 0"):
        tg.gradgradcheck(lambda t: tg.apply(CubeWithDetachedBackward, t), x)
