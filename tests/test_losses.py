"""The loss table: 3 losses x every reduction, checked against an independent numpy computation.

Values, dtypes (float32 stays float32) and the gradients of both arguments. The numpy references
below are written from the definitions (PyTorch's, with its clamp of each log at -100 for binary
cross-entropy on probabilities), not from the library's formulas.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_ae as tg
import tinygrad_ae.functional as F
from tinygrad_ae import Tensor
from helpers import central_differences
from strategies import arrays

REDUCTIONS = ["none", "sum", "mean", "batchmean"]


def reference_mse(p, t):
    return (p - t) ** 2, 2 * (p - t), -2 * (p - t)


def reference_bce(p, t):
    with np.errstate(divide="ignore"):
        log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log(1 - p), -100)
    value = -(t * log_p + (1 - t) * log_1mp)
    with np.errstate(divide="ignore", invalid="ignore"):
        grad_p = (p - t) / np.maximum(p * (1 - p), 1e-12)
    return value, grad_p, log_1mp - log_p


def reference_bce_with_logits(a, t):
    value = np.logaddexp(0, a) - t * a                       # softplus(a) - t a
    sigmoid = np.exp(-np.logaddexp(0, -a))
    return value, sigmoid - t, -a


LOSSES = {
    "mse_loss": (F.mse_loss, reference_mse, (-2.0, 2.0)),
    "binary_cross_entropy": (F.binary_cross_entropy, reference_bce, (0.02, 0.98)),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, reference_bce_with_logits, (-5.0, 5.0)),
}


def reduce(value, reduction):
    """The reduction applied to the elementwise values, and the factor it puts on each gradient."""
    if reduction == "none":
        return value, 1.0
    count = {"sum": 1, "mean": value.size, "batchmean": len(value) if value.ndim else 1}[reduction]
    return value.sum() / count, 1.0 / count


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
@settings(max_examples=20)
@given(data=st.data())
def test_values_and_gradients_of_both_arguments(name, reduction, data):
    fn, reference, (lo, hi) = LOSSES[name]
    shape = data.draw(st.sampled_from([(5,), (3, 4), (2, 3, 2)]))
    p, t = data.draw(arrays(shape, lo, hi)), data.draw(arrays(shape, 0.0, 1.0))
    value, grad_p, grad_t = reference(p, t)
    expected, factor = reduce(value, reduction)
    seed = np.random.default_rng(0).uniform(0.5, 1.5, shape) if reduction == "none" else 1.0
    tp, tt = Tensor(p, requires_grad=True), Tensor(t, requires_grad=True)
    out = fn(tp, tt, reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    out.backward(np.broadcast_to(seed, out.shape))
    np.testing.assert_allclose(tp.grad, seed * factor * grad_p, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tt.grad, seed * factor * grad_t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
def test_float32_stays_float32(name, reduction):
    fn, _, (lo, hi) = LOSSES[name]
    rng = np.random.default_rng(1)
    p = Tensor(rng.uniform(lo, hi, (4, 3)).astype(np.float32), requires_grad=True)
    t = Tensor(rng.uniform(0, 1, (4, 3)).astype(np.float32), requires_grad=True)
    out = fn(p, t, reduction=reduction)
    assert out.dtype == np.float32
    (out.sum() if reduction == "none" else out).backward()
    assert p.grad.dtype == np.float32 and t.grad.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_at_exactly_zero_and_one_is_pytorchs_value(dtype):
    # PyTorch: F.binary_cross_entropy([0, 0.5, 1], [0, 1, 1], reduction="none") = [0, 0.6931, 0]
    p, t = Tensor(np.array([0.0, 0.5, 1.0], dtype)), Tensor(np.array([0.0, 1.0, 1.0], dtype))
    with np.errstate(all="raise"):
        elementwise = F.binary_cross_entropy(p, t, reduction="none")
        total = F.binary_cross_entropy(p, t, reduction="sum")
    assert elementwise.dtype == dtype and total.dtype == dtype
    np.testing.assert_allclose(elementwise.data, [0.0, np.log(2.0), 0.0], rtol=1e-6)
    assert total.item() == pytest.approx(elementwise.data.sum(), rel=1e-6)
    # a confidently wrong prediction costs the clamp, 100, not inf
    wrong = F.binary_cross_entropy(Tensor(np.array([0.0, 1.0], dtype)), Tensor(np.array([1.0, 0.0], dtype)), "none")
    np.testing.assert_array_equal(wrong.data, [100.0, 100.0])


@pytest.mark.parametrize("name", LOSSES)
def test_sum_is_the_sum_of_none(name):
    fn, _, (lo, hi) = LOSSES[name]
    rng = np.random.default_rng(2)
    p, t = Tensor(rng.uniform(lo, hi, (6, 5))), Tensor(rng.uniform(0, 1, (6, 5)))
    assert fn(p, t, reduction="sum").item() == pytest.approx(fn(p, t, reduction="none").data.sum(), rel=1e-13)
    assert fn(p, t, reduction="batchmean").item() == pytest.approx(fn(p, t, reduction="none").data.sum() / 6, rel=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("logit, target", [(1.3, 0.7), (-2.1, 0.0), (0.4, 1.0)])
def test_binary_cross_entropy_with_logits_of_a_0d_tensor(reduction, logit, target):
    """0-d logits (a numpy scalar in the fused sum's forward) give PyTorch's value and gradients."""
    a, t = np.array(logit), np.array(target)
    # PyTorch's formula, by hand: max(a, 0) - a t + log1p(exp(-|a|)); d/da = sigmoid(a) - t, d/dt = -a
    expected = max(logit, 0.0) - logit * target + np.log1p(np.exp(-abs(logit)))
    ta, tt = Tensor(a.copy(), requires_grad=True), Tensor(t.copy(), requires_grad=True)
    out = F.binary_cross_entropy_with_logits(ta, tt, reduction=reduction)
    assert out.shape == () and out.dtype == np.float64
    assert out.item() == pytest.approx(expected, rel=1e-14)
    out.backward()
    assert ta.grad.shape == () and tt.grad.shape == ()
    assert ta.grad.item() == pytest.approx(1 / (1 + np.exp(-logit)) - target, rel=1e-12, abs=1e-15)
    assert tt.grad.item() == pytest.approx(-logit, rel=1e-12)
    numeric = central_differences(
        lambda: F.binary_cross_entropy_with_logits(Tensor(a), Tensor(t), reduction=reduction).item(), [a, t])
    np.testing.assert_allclose([ta.grad.item(), tt.grad.item()], [g.item() for g in numeric], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("loss", ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_the_mean_of_an_empty_batch_is_nan_as_in_pytorch(loss):
    """torch.nn.functional's losses give nan for "mean" over no elements (0/0), and 0 for "sum"."""
    empty = Tensor(np.zeros((0, 3)), requires_grad=True)
    assert np.isnan(getattr(F, loss)(empty, np.zeros((0, 3)), reduction="mean").item())
    assert getattr(F, loss)(empty, np.zeros((0, 3)), reduction="sum").item() == 0.0
