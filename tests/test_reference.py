"""The lecture's closed forms (tinygrad_ae.reference) against central differences and hand-computed values.

Plain numpy on purpose: the framework is later checked against this file's subject, so nothing here
may lean on the framework (its gradcheck included).
"""
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra.numpy import arrays

from tinygrad_ae import reference as ref
from tinygrad_ae.models import spec
from helpers import central_differences
from strategies import floats_in as floats

COMBOS = [(enc, dec, tied, loss)
          for enc, dec, tied in itertools.product(spec.ENCODERS, spec.DECODERS, (False, True))
          for loss in (("mse", "bce") if dec == "sigmoid" else ("mse",))]






@st.composite
def autoencoder_problem(draw, targets_in_unit_interval):
    """(X, W, b, W_star, c): m examples, n features, k hidden units, under- and over-complete alike."""
    m, n, k = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 7))
    x_lo = 0.0 if targets_in_unit_interval else -2.0
    X = draw(arrays(np.float64, (m, n), elements=floats(x_lo, 1.0)))
    W = draw(arrays(np.float64, (k, n), elements=floats(-1.5, 1.5)))
    b = draw(arrays(np.float64, (k,), elements=floats(-1.5, 1.5)))
    W_star = draw(arrays(np.float64, (n, k), elements=floats(-1.5, 1.5)))
    c = draw(arrays(np.float64, (n,), elements=floats(-1.5, 1.5)))
    return X, W, b, W_star, c


# ---------------------------------------------------------------- gradients vs central differences

@pytest.mark.parametrize("encoder,decoder,tied,loss", COMBOS)
@given(data=st.data())
def test_gradients_match_central_differences(encoder, decoder, tied, loss, data):
    X, W, b, W_star, c = data.draw(autoencoder_problem(targets_in_unit_interval=(loss == "bce")))
    if tied:
        W_star = None
    kw = dict(encoder=encoder, decoder=decoder, tied=tied, loss=loss)
    if encoder == "relu":  # a finite difference straddling the kink at 0 measures neither side's slope
        assume(np.abs(ref.forward(X, W, b, W_star, c, encoder, decoder, tied)["a1"]).min() > 1e-4)

    grads = ref.gradients(X, W, b, W_star, c, **kw)
    params = {"W": W, "b": b, "c": c} if tied else {"W": W, "b": b, "W_star": W_star, "c": c}
    value = ref.loss(X, W, b, W_star, c, **kw)
    numeric = central_differences(lambda: ref.loss(X, W, b, W_star, c, **kw), list(params.values()))

    # round-off of a central difference is ~ 1e-16 |L| / eps = 1e-10 |L|; atol sits well above it
    atol = 1e-8 * (1 + abs(value))
    for (name, param), num in zip(params.items(), numeric):
        assert grads[name].shape == param.shape, name
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=atol, err_msg=name)
    if tied:
        assert grads["W_star"] is None


def test_tied_gradient_is_the_sum_of_both_paths():
    rng = np.random.default_rng(0)
    X, W, b, c = rng.random((4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2), rng.normal(size=3)
    tied = ref.gradients(X, W, b, None, c, "tanh", "linear", tied=True)
    untied = ref.gradients(X, W, b, W.T.copy(), c, "tanh", "linear", tied=False)
    np.testing.assert_allclose(tied["W"], untied["W"] + untied["W_star"].T, rtol=1e-12)
    np.testing.assert_allclose(tied["c"], untied["c"], rtol=1e-12)


def test_squared_error_gradient_carries_one_over_m():
    # one hidden unit, linear everything: a2 = x_hat = c when W* = 0, so dL/dc = (2/m) sum_i (c - x_i)
    X = np.array([[1.0], [2.0], [6.0]])
    grads = ref.gradients(X, np.ones((1, 1)), np.zeros(1), np.zeros((1, 1)), np.array([0.5]),
                          "linear", "linear")
    assert grads["c"] == pytest.approx([(2 / 3) * ((0.5 - 1) + (0.5 - 2) + (0.5 - 6))], rel=1e-14)
    assert ref.loss(X, np.ones((1, 1)), np.zeros(1), np.zeros((1, 1)), np.array([0.5]),
                    "linear", "linear") == pytest.approx((0.25 + 2.25 + 30.25) / 3, rel=1e-14)


# ---------------------------------------------------------------- the slides' literal cross-entropy chain

@given(arrays(np.float64, (3, 4), elements=floats(0.0, 1.0)),
       arrays(np.float64, (3, 4), elements=floats(-30.0, 30.0)))
def test_literal_chain_equals_simplified_where_not_saturated(X, a2):
    x_hat = ref.sigmoid(a2)
    assume(np.all((x_hat > 0) & (x_hat < 1)))
    np.testing.assert_allclose(ref.literal_bce_grad_a2(X, x_hat), (x_hat - X) / 3, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref.bce_grad_a2(X, x_hat), (x_hat - X) / 3, rtol=1e-15)


@given(arrays(np.float64, (2, 3), elements=floats(0.0, 1.0)))
def test_literal_chain_is_nan_where_sigmoid_saturates_and_simplified_stays_finite(X):
    for a2, saturated in ((40.0, 1.0), (-1000.0, 0.0)):
        x_hat = ref.sigmoid(np.full(X.shape, a2))
        assert np.all(x_hat == saturated)  # the premise: float64 rounds sigmoid to exactly 0 or 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            literal = ref.literal_bce_grad_a2(X, x_hat)
            simplified = ref.bce_grad_a2(X, x_hat)
        assert np.all(np.isnan(literal))
        np.testing.assert_array_equal(simplified, (saturated - X) / 2)


def test_literal_chain_still_finite_at_minus_40():
    # sigmoid(-40) = 4.2e-18 is still representable, so only the +40 side saturates at |a2| = 40
    X = np.array([[0.0, 0.3, 1.0]])
    x_hat = ref.sigmoid(np.full(X.shape, -40.0))
    np.testing.assert_allclose(ref.literal_bce_grad_a2(X, x_hat), x_hat - X, rtol=1e-12, atol=1e-30)


# ---------------------------------------------------------------- stability at large logits

@pytest.mark.parametrize("logit", [1000.0, -1000.0])
def test_bce_loss_and_gradients_finite_and_silent_at_huge_logits(logit):
    X = np.array([[0.0, 0.25, 1.0], [1.0, 0.5, 0.0]])
    W, b = np.zeros((2, 3)), np.zeros(2)
    W_star, c = np.zeros((3, 2)), np.full(3, logit)   # a2 == logit everywhere
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = ref.loss(X, W, b, W_star, c, "sigmoid", "sigmoid")
        grads = ref.gradients(X, W, b, W_star, c, "sigmoid", "sigmoid")
    # per element: softplus(a) - x a, which is a (1 - x) for a = +1000 and -x a for a = -1000
    per_element = logit * (1 - X) if logit > 0 else -X * logit
    assert value == pytest.approx(per_element.sum() / 2, rel=1e-15)
    x_hat = 1.0 if logit > 0 else 0.0
    np.testing.assert_allclose(grads["c"], ((x_hat - X) / 2).sum(axis=0), rtol=1e-15)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_sigmoid_and_softplus_silent_at_huge_inputs():
    a = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, sp = ref.sigmoid(a), ref.softplus(a)
    np.testing.assert_allclose(s, [0.0, np.exp(-40) / (1 + np.exp(-40)), 0.5, 1.0, 1.0], rtol=1e-15)
    tail = np.log1p(np.exp(-40))
    np.testing.assert_allclose(sp, [0.0, tail, np.log(2), 40 + tail, 1000.0], rtol=1e-15)


# ---------------------------------------------------------------- PCA: the Eckart-Young bound

@st.composite
def data_and_k(draw):
    m, n = draw(st.integers(1, 8)), draw(st.integers(1, 5))
    X = draw(arrays(np.float64, (m, n), elements=floats(-10.0, 10.0)))
    return X, draw(st.integers(0, n))


def total_variance(X):
    return float(((X - X.mean(axis=0)) ** 2).sum() / X.shape[0])


def lecture_mse(X, X_hat):
    return float(((X_hat - X) ** 2).sum() / X.shape[0])


@given(data_and_k())
def test_pca_bound_equals_the_loss_of_pca_reconstruction(problem):
    X, k = problem
    X_hat = ref.pca_reconstruction(X, k)
    assert X_hat.shape == X.shape
    slack = 1e-10 * (1 + total_variance(X))
    assert ref.pca_bound(X, k) == pytest.approx(lecture_mse(X, X_hat), rel=1e-9, abs=slack)


@given(data_and_k(), st.integers(0, 2**32 - 1))
def test_no_rank_k_affine_reconstruction_beats_pca_bound(problem, seed):
    X, k = problem
    m, n = X.shape
    rng = np.random.default_rng(seed)
    slack = 1e-9 * (1 + total_variance(X))
    bound = ref.pca_bound(X, k)
    # a random linear autoencoder with k hidden units is a rank-k affine reconstruction
    W, b, W_star, c = rng.normal(size=(k, n)), rng.normal(size=k), rng.normal(size=(n, k)), rng.normal(size=n)
    if k > 0:
        assert ref.loss(X, W, b, W_star, c, "linear", "linear") >= bound - slack
    # and so is PCA's own, slightly disturbed: the bound is a minimum, not merely a low value
    mean, components = ref.pca_components(X, k)
    disturbed = components + 1e-3 * rng.normal(size=components.shape)
    shift = mean + 1e-3 * rng.normal(size=n)
    assert lecture_mse(X, shift + (X - shift) @ np.linalg.pinv(disturbed) @ disturbed) >= bound - slack


@given(data_and_k())
def test_pca_bound_at_the_ends(problem):
    X, _ = problem
    n = X.shape[1]
    assert ref.pca_bound(X, n) == pytest.approx(0.0, abs=1e-10 * (1 + total_variance(X)))
    np.testing.assert_allclose(ref.pca_reconstruction(X, n), X, atol=1e-9 * (1 + np.abs(X).max()))
    assert ref.pca_bound(X, 0) == pytest.approx(total_variance(X), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(ref.pca_reconstruction(X, 0), np.broadcast_to(X.mean(axis=0), X.shape))


def test_pca_eigenvalues_are_taken_with_one_over_m():
    # covariance with 1/m is diag(2/4, 18/4); np.cov's 1/(m - 1) would give diag(2/3, 6)
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0], [0.0, -3.0]])
    assert ref.pca_bound(X, 0) == pytest.approx(5.0, rel=1e-14)
    assert ref.pca_bound(X, 1) == pytest.approx(0.5, rel=1e-12)
    mean, components = ref.pca_components(X, 1)
    np.testing.assert_allclose(mean, [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(np.abs(components), [[0.0, 1.0]], atol=1e-12)
    assert ref.pca_bound([[0.0], [2.0]], 0) == pytest.approx(1.0, rel=1e-14)


def test_pca_bound_is_exact_for_data_on_a_k_dimensional_affine_subspace():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2)) @ rng.normal(size=(2, 6)) + rng.normal(size=6)   # rank-2 plane, shifted
    assert ref.pca_bound(X, 2) == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(ref.pca_reconstruction(X, 2), X, atol=1e-9)
    assert ref.pca_bound(X, 1) > 1e-3


# ---------------------------------------------------------------- bad input is refused clearly

def _small():
    return np.full((2, 3), 0.5), np.zeros((2, 3)), np.zeros(2), np.zeros((3, 2)), np.zeros(3)


@pytest.mark.parametrize("k,error,match", [
    (-1, ValueError, "between 0 and n = 3"), (4, ValueError, "between 0 and n = 3"),
    (1.5, TypeError, "integer"), (True, TypeError, "integer")])
def test_pca_refuses_bad_k(k, error, match):
    for fn in (ref.pca_bound, ref.pca_reconstruction, ref.pca_components):
        with pytest.raises(error, match=match):
            fn(np.zeros((4, 3)), k)


@pytest.mark.parametrize("X,match", [(np.zeros(3), "2-D"), (np.zeros((0, 3)), "at least one row"),
                                     (np.array([[0.0, np.nan]]), "NaN or inf")])
def test_pca_refuses_bad_data(X, match):
    with pytest.raises(ValueError, match=match):
        ref.pca_bound(X, 0)


def test_autoencoder_functions_refuse_bad_arguments():
    X, W, b, W_star, c = _small()
    with pytest.raises(ValueError, match="encoder must be one of"):
        ref.forward(X, W, b, W_star, c, encoder="softmax")
    with pytest.raises(ValueError, match="decoder must be one of"):
        ref.loss(X, W, b, W_star, c, decoder="relu")
    with pytest.raises(ValueError, match="loss='bce' needs decoder='sigmoid'"):
        ref.gradients(X, W, b, W_star, c, decoder="linear", loss="bce")
    with pytest.raises(ValueError, match="loss must be one of"):
        ref.loss(X, W, b, W_star, c, loss="l1")
    with pytest.raises(ValueError, match="pass W_star=None"):
        ref.forward(X, W, b, W_star, c, tied=True)
    with pytest.raises(ValueError, match="W_star is None but tied=False"):
        ref.forward(X, W, b, None, c)
    with pytest.raises(ValueError, match=r"W_star has shape \(2, 3\), expected \(3, 2\)"):
        ref.forward(X, W, b, W_star.T, c)
    with pytest.raises(ValueError, match=r"c has shape \(2,\), expected \(3,\)"):
        ref.gradients(X, W, b, W_star, np.zeros(2))
    with pytest.raises(ValueError, match="targets X in \\[0, 1\\]"):
        ref.loss(X + 1, W, b, W_star, c, decoder="sigmoid")


def test_loss_none_picks_the_lectures_loss():
    X, W, b, W_star, c = _small()
    for decoder, picked in (("sigmoid", "bce"), ("linear", "mse"), ("tanh", "mse")):
        chosen = ref.loss(X, W, b, W_star, c, decoder=decoder)
        assert chosen == ref.loss(X, W, b, W_star, c, decoder=decoder, loss=picked)
    # and the two losses really differ here, so the line above could fail
    mse = ref.loss(X, W, b, W_star, c, decoder="sigmoid", loss="mse")
    assert mse != ref.loss(X, W, b, W_star, c, decoder="sigmoid")
