"""reference.contractive_penalty and its hand-derived gradient, in plain numpy (no framework):
the value against the Frobenius norm of a Jacobian taken by central differences, the gradient
against central differences of the value."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygrad_ae import reference as ref
from helpers import central_differences

ENCODERS = ref.CONTRACTIVE_ENCODERS


def _problem(seed, m=5, n=4, k=3, scale=1.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, n)), scale * rng.standard_normal((k, n)), rng.standard_normal(k))


def _encoder(encoder, W, b):
    g = ref._ACTIVATIONS[encoder][0]
    return lambda x: g(W @ x + b)


def _jacobian_by_differences(f, x, eps=1e-6):
    columns = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = eps
        columns.append((f(x + step) - f(x - step)) / (2 * eps))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_penalty_is_the_mean_squared_frobenius_norm_of_the_encoder_jacobian(encoder):
    X, W, b = _problem(0)
    f = _encoder(encoder, W, b)
    expected = np.mean([np.sum(_jacobian_by_differences(f, x) ** 2) for x in X])
    assert ref.contractive_penalty(X, W, b, encoder) == pytest.approx(expected, rel=1e-8)


def test_penalty_of_one_example_by_hand():
    # a = W x + b = 0 for every unit: h = 1/2, h (1 - h) = 1/4, so ||J||^2 = (1/16) sum(W^2)
    W = np.array([[1.0, 2.0], [3.0, -1.0]])
    X = np.zeros((1, 2))
    b = np.zeros(2)
    assert ref.contractive_penalty(X, W, b) == pytest.approx((1 + 4 + 9 + 1) / 16)
    assert ref.contractive_penalty(X, W, b, "tanh") == pytest.approx(15.0)   # tanh'(0) = 1




@given(encoder=st.sampled_from(ENCODERS), seed=st.integers(0, 2**32 - 1),
       m=st.integers(1, 6), n=st.integers(1, 5), k=st.integers(1, 4), scale=st.sampled_from([0.3, 1.0, 3.0]))
def test_gradients_match_central_differences(encoder, seed, m, n, k, scale):
    X, W, b = _problem(seed, m, n, k, scale)
    grads = ref.contractive_penalty_grads(X, W, b, encoder)
    f = lambda: ref.contractive_penalty(X, W, b, encoder)
    for name, array in (("W", W), ("b", b)):
        assert grads[name].shape == array.shape
        np.testing.assert_allclose(grads[name], central_differences(f, [array])[0], rtol=1e-6, atol=1e-8,
                                   err_msg=f"d penalty / d {name}, {encoder}")


def test_unsupported_encoder_and_bad_shapes_are_refused():
    X, W, b = _problem(1)
    with pytest.raises(ValueError, match="encoder"):
        ref.contractive_penalty(X, W, b, "relu")
    with pytest.raises(ValueError, match=r"W has shape \(3, 2\)"):
        ref.contractive_penalty(X, W[:, :2], b)
    with pytest.raises(ValueError, match=r"b has shape \(2,\)"):
        ref.contractive_penalty_grads(X, W, b[:2])
