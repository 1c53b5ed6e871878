"""The shipped gradcheck: passes correct gradients, and fails wrong ones with a message that locates the error.

Wrong gradients are built without touching the core: `x.detach()` hides part of the derivative from
backward, and a custom Function declares a deliberately wrong backward.
"""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_ae as tg
from tinygrad_ae import Tensor
from tinygrad_ae.engine import ops
from strategies import arrays, shapes


def numbers_in(message):
    return [float(s) for s in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", message)]


class Cube(ops.Function):
    """x ** 3 with the correct backward, to show the harness itself is sound."""
    __slots__ = ()

    def forward(self, x):
        return x ** 3

    def backward(self, grad, out, x):
        return (grad * 3 * x ** 2,)


class WrongCube(Cube):
    """x ** 3 whose backward forgets the factor 3."""
    __slots__ = ()

    def backward(self, grad, out, x):
        return (grad * x ** 2,)


# ---------------------------------------------------------------- passing

@given(data=st.data())
def test_returns_true_for_correct_gradients(data):
    x = data.draw(arrays(data.draw(shapes())))
    assert tg.gradcheck(lambda t: (t * t).exp().sum(), x) is True
    assert tg.gradcheck(lambda t: t.tanh() * 3, x) is True  # non-scalar output


def test_returns_true_for_several_inputs():
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 2)), rng.standard_normal((2, 4)), rng.standard_normal(4)
    assert tg.gradcheck(lambda a, b, c: (a @ b + c).sigmoid(), a, b, c) is True


def test_custom_function_with_correct_backward_passes():
    assert tg.gradcheck(lambda t: tg.apply(Cube, t), np.array([-1.5, 0.5, 2.0])) is True


def test_an_unused_input_has_zero_gradient():
    assert tg.gradcheck(lambda a, b: a.sum() * 2, np.ones(3), np.ones(2)) is True


def test_inputs_are_float64_tensors_and_callers_arrays_are_untouched():
    x = np.array([[0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
    original = x.copy()
    seen = []

    def fn(t):
        seen.append((type(t), t.dtype))
        return (t * t).sum()

    assert tg.gradcheck(fn, x) is True
    assert seen and all(kind is Tensor and dtype == np.float64 for kind, dtype in seen)
    np.testing.assert_array_equal(x, original)
    assert x.dtype == np.float32


def test_loose_tolerance_accepts_a_small_error():
    # the true derivative is 1.01; backward sees only 1
    fn = lambda t: t + 0.01 * t.detach()  # noqa: E731
    assert tg.gradcheck(fn, np.ones(3), rtol=0.05) is True
    with pytest.raises(AssertionError):
        tg.gradcheck(fn, np.ones(3))


# ---------------------------------------------------------------- failing

def test_wrong_gradient_names_input_worst_index_and_both_values():
    a = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 1.25]])
    b = np.array([[0.1, -0.2, 0.3], [-0.4, 0.5, 7.0]])
    # d/db of sum(a*b) + sum(b*b) is a + 2b; detach() hides one b, so backward gives a + b:
    # the error |b| is largest at (1, 2), where backward gives 8.25 and the truth is 15.25.
    fn = lambda a, b: (a * b).sum() + (b * b.detach()).sum()  # noqa: E731
    with pytest.raises(AssertionError) as failure:
        tg.gradcheck(fn, a, b)
    message = str(failure.value)
    assert "input 1" in message and "input 0" not in message
    assert "(1, 2)" in message
    found = numbers_in(message)
    assert any(np.isclose(v, 8.25, rtol=1e-9) for v in found), message
    assert any(np.isclose(v, 15.25, rtol=1e-6) for v in found), message


def test_wrong_backward_of_a_custom_function_fails():
    x = np.array([0.5, -2.0, 1.0])
    with pytest.raises(AssertionError) as failure:
        tg.gradcheck(lambda t: tg.apply(WrongCube, t).sum() * 2, x)
    message = str(failure.value)
    assert "input 0" in message and "(1,)" in message  # |2 x^2| error is largest at x = -2
    found = numbers_in(message)
    assert any(np.isclose(v, 8.0, rtol=1e-9) for v in found), message   # what backward gives: 2 x^2
    assert any(np.isclose(v, 24.0, rtol=1e-6) for v in found), message  # the truth: 6 x^2


def test_error_in_a_non_scalar_output_is_caught():
    with pytest.raises(AssertionError, match="input 0"):
        tg.gradcheck(lambda t: t * t.detach(), np.array([1.0, 2.0, 3.0]))


def test_error_in_the_second_of_two_inputs_through_broadcasting_is_caught():
    a, b = np.ones((2, 3)), np.array([0.5, 1.5, -2.0])
    with pytest.raises(AssertionError, match="input 1"):
        tg.gradcheck(lambda a, b: a * b * b.detach(), a, b)


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError):
        tg.gradcheck(lambda t: t.data.sum(), np.ones(2))


# ---------------------------------------------------------------- numerical_grad

def test_numerical_grad_matches_derivatives_by_hand():
    a, b = np.array([[0.5, -1.0], [2.0, 1.5]]), np.array([0.3, -0.7])
    grad_a, grad_b = tg.numerical_grad(lambda a, b: (a ** 3).sum() + (a * b).sum(), a, b)
    assert grad_a.shape == a.shape and grad_b.shape == b.shape
    np.testing.assert_allclose(grad_a, 3 * a ** 2 + b, rtol=1e-8)
    np.testing.assert_allclose(grad_b, a.sum(axis=0), rtol=1e-8)


def test_numerical_grad_leaves_its_inputs_untouched():
    x = np.array([1.0, 2.0])
    tg.numerical_grad(lambda t: (t * t).sum(), x, eps=1e-3)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_grad_of_a_transposed_input_is_not_zero():
    """A non-C-contiguous input (a transpose) is perturbed in place too (it once was perturbed in a copy)."""
    a = np.arange(6.0).reshape(2, 3).T                      # F-ordered (3, 2)
    (grad,) = tg.numerical_grad(lambda t: (t * t).sum(), a)
    np.testing.assert_allclose(grad, 2 * a, rtol=1e-8)
